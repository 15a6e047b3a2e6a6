//! One TTL check per process, alias checks per registration: stopping the heartbeat takes every
//! registration out of `passing` lookups at TTL expiry.

mod support;

use std::time::{Duration, Instant};

use matchmaker_core::MatchMaker;
use support::{connect, eventually, fanout_hosts, shared_config};

const TTL: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_heartbeats_leave_passing_lookups_within_ttl_plus_one_second() {
    let Some(config) = shared_config("heartbeat_stop", TTL) else {
        return;
    };
    let serving = connect(config.clone()).await;
    let watching = connect(config).await;
    for topic in ["alpha", "beta", "gamma"] {
        serving.register(topic, "node-a").await.unwrap();
    }
    serving.start_heartbeat().unwrap();
    // Heartbeating keeps it alive well past the TTL.
    tokio::time::sleep(TTL * 2).await;
    for topic in ["alpha", "beta", "gamma"] {
        assert_eq!(
            fanout_hosts(&watching, topic).await,
            vec!["node-a".to_owned()]
        );
    }
    serving.stop_heartbeat();
    let stopped = Instant::now();
    for topic in ["alpha", "beta", "gamma"] {
        let gone = eventually(TTL + Duration::from_secs(3), || async {
            fanout_hosts(&watching, topic).await.is_empty()
        })
        .await;
        assert!(gone, "{topic} still served after the heartbeat stopped");
    }
    let detection = stopped.elapsed();
    matchmaker_testkit::figures::record_duration(
        &format!("Consul: heartbeat stopped (TTL {TTL:?})"),
        "3 registrations gone from another instance's lookups after the stop",
        detection,
    );
    // The last beat came at most one interval before the stop, so this is at most TTL + 1 s
    // after the last heartbeat.
    assert!(
        detection <= TTL + Duration::from_secs(1),
        "took {detection:?}"
    );
    assert!(!watching.is_alive("alpha", "node-a").await.unwrap());
    // The services stay in the catalog, critical, until Consul reaps them (>= 1 minute).
    let listed = watching.list(Some("alpha")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].alive);
    assert_eq!(
        listed[0].instance.as_deref(),
        Some(serving.backend().instance_id())
    );
    watching.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ttl_check_per_process_and_an_alias_check_per_registration() {
    let Some(config) = shared_config("one_ttl_check", TTL) else {
        return;
    };
    let matchmaker = connect(config.clone()).await;
    for index in 0..5 {
        matchmaker
            .register("t", &format!("h{index}"))
            .await
            .unwrap();
    }
    let url = format!("{}/v1/agent/checks", config.base_url());
    let checks: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    let instance = matchmaker.backend().instance_id().to_owned();
    let ours: Vec<&serde_json::Value> = checks
        .as_object()
        .unwrap()
        .values()
        .filter(|check| {
            let service = check["ServiceID"].as_str().unwrap_or_default();
            service.contains(&instance)
                || service.starts_with("mm-")
                    && check["ServiceTags"].as_array().is_some_and(|tags| {
                        tags.iter()
                            .any(|tag| tag.as_str() == Some(&format!("mm-ns={}", config.namespace)))
                    })
        })
        .collect();
    let ttl_checks = ours.iter().filter(|check| check["Type"] == "ttl").count();
    let alias_checks = ours.iter().filter(|check| check["Type"] == "alias").count();
    assert_eq!((ttl_checks, alias_checks), (1, 5), "{ours:#?}");
    matchmaker.backend().purge_namespace().await.unwrap();
}
