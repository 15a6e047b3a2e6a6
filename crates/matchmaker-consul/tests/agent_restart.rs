//! A `-dev` agent SIGKILLed and restarted forgets API-registered services: the heartbeat
//! notices and re-registers everything, and lookups recover.

mod support;

use std::time::{Duration, Instant};

use matchmaker_core::MatchMaker;
use matchmaker_testkit::consul::ConsulOptions;
use support::{config_for, connect, eventually, fanout_hosts, own_agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restart_leads_to_reregistration() {
    let Some(mut agent) = own_agent("agent_restart", ConsulOptions::default()) else {
        return;
    };
    let config = config_for(&agent.addr(), "restart", Duration::from_secs(2));
    let matchmaker = connect(config).await;
    matchmaker.register("compute", "node-a").await.unwrap();
    matchmaker.register("network", "node-a").await.unwrap();
    matchmaker.start_heartbeat().unwrap();
    assert_eq!(
        fanout_hosts(&matchmaker, "compute").await,
        vec!["node-a".to_owned()]
    );

    agent.kill();
    agent
        .restart()
        .expect("the agent restarts on the same ports");
    let restarted = Instant::now();
    for topic in ["compute", "network"] {
        let back = eventually(Duration::from_secs(10), || async {
            matchmaker.is_alive(topic, "node-a").await.unwrap_or(false)
        })
        .await;
        assert!(
            back,
            "{topic} was not re-registered after the agent restart"
        );
    }
    let recovered = eventually(Duration::from_secs(10), || async {
        matchmaker.backend().cache_status().stale_since.is_none()
            && fanout_hosts(&matchmaker, "network").await == vec!["node-a".to_owned()]
    })
    .await;
    assert!(recovered, "{:?}", matchmaker.backend().cache_status());
    assert!(matchmaker.backend().cache_status().connected);
    matchmaker_testkit::figures::record_duration(
        "Consul: agent SIGKILLed and restarted empty (TTL 2s)",
        "both registrations re-registered and looked up again after the restart",
        restarted.elapsed(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_agent_keeps_the_last_known_hosts_and_shows_staleness() {
    let Some(mut agent) = own_agent("stale_on_error", ConsulOptions::default()) else {
        return;
    };
    let config = config_for(&agent.addr(), "stale", Duration::from_secs(5));
    let matchmaker = connect(config).await;
    matchmaker.register("compute", "node-a").await.unwrap();
    assert_eq!(
        fanout_hosts(&matchmaker, "compute").await,
        vec!["node-a".to_owned()]
    );
    agent.kill();
    let stale = eventually(Duration::from_secs(5), || async {
        matchmaker.backend().cache_status().stale_since.is_some()
    })
    .await;
    assert!(stale, "{:?}", matchmaker.backend().cache_status());
    assert!(!matchmaker.backend().cache_status().connected);
    // Never an error-caused empty list: the last known host is still served.
    assert_eq!(
        fanout_hosts(&matchmaker, "compute").await,
        vec!["node-a".to_owned()]
    );
    // A topic never looked up cannot be answered: an error, not an empty list.
    let error = matchmaker.queues("fanout~unknown").await.unwrap_err();
    assert!(error.is_transient(), "{error}");
}
