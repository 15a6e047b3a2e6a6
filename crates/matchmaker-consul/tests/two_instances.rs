//! Two processes (two backends) on one agent see each other's registrations and changes.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use matchmaker_core::{MatchMaker, MembershipEvent};
use support::{config_for, connect, eventually, fanout_hosts, shared_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_see_each_other() {
    let Some(config) = shared_config("two_instances_see_each_other", Duration::from_secs(5)) else {
        return;
    };
    let first = connect(config.clone()).await;
    let second = connect(config.clone()).await;
    first.register("compute", "node-a").await.unwrap();
    second.register("compute", "node-b").await.unwrap();
    first.start_heartbeat().unwrap();
    second.start_heartbeat().unwrap();
    let both = vec!["node-a".to_owned(), "node-b".to_owned()];
    for matchmaker in [&first, &second] {
        let seen = eventually(Duration::from_secs(5), || async {
            fanout_hosts(matchmaker, "compute").await == both
        })
        .await;
        assert!(seen, "{:?}", fanout_hosts(matchmaker, "compute").await);
    }
    assert!(first.is_alive("compute", "node-b").await.unwrap());
    assert!(second.is_alive("compute", "node-a").await.unwrap());
    second.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_sees_the_other_instance_join_and_leave() {
    let Some(config) = shared_config("subscriber_sees_join_leave", Duration::from_secs(5)) else {
        return;
    };
    let watcher = connect(config.clone()).await;
    let mut events = watcher.subscribe(Some("scheduler")).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );
    // The first lookup also proves the loop has its initial (empty) answer.
    assert!(fanout_hosts(&watcher, "scheduler").await.is_empty());
    let other = connect(config_for(
        &config.address,
        &config.namespace,
        config.heartbeat.ttl,
    ))
    .await;
    other.register("scheduler", "node-x").await.unwrap();
    let joined = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert_eq!(
        joined.unwrap(),
        Some(MembershipEvent::joined(
            "scheduler",
            "node-x",
            Default::default()
        ))
    );
    other.unregister("scheduler", "node-x").await.unwrap();
    let left = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert_eq!(
        left.unwrap(),
        Some(MembershipEvent::Left {
            topic: "scheduler".into(),
            host: "node-x".into()
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_to_all_topics_discovers_new_topics() {
    let Some(config) = shared_config("subscribe_all_topics", Duration::from_secs(5)) else {
        return;
    };
    let watcher = connect(config.clone()).await;
    let mut events = watcher.subscribe(None).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );
    let other = connect(config.clone()).await;
    other.register("brand-new/topic", "node-y").await.unwrap();
    let joined = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert_eq!(
        joined.unwrap(),
        Some(MembershipEvent::joined(
            "brand-new/topic",
            "node-y",
            Default::default()
        ))
    );
    other.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_to_all_topics_discovers_a_topic_whose_service_name_is_hashed() {
    let Some(config) = shared_config("subscribe_all_hashed", Duration::from_secs(5)) else {
        return;
    };
    let long_topic = format!("a-topic-too-long-for-a-dns-label/{}", "x".repeat(60));
    assert!(
        matchmaker_consul::naming::service_name(&config.namespace, &long_topic).starts_with("mmh-")
    );
    let watcher = connect(config.clone()).await;
    let mut events = watcher.subscribe(None).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );
    let other = connect(config.clone()).await;
    other.register(&long_topic, "node-h").await.unwrap();
    let joined = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert_eq!(
        joined.unwrap(),
        Some(MembershipEvent::joined(
            long_topic.clone(),
            "node-h",
            Default::default()
        ))
    );
    other.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_registration_is_visible_to_lookups_when_register_returns() {
    let Some(config) = shared_config("own_registration_visible", Duration::from_secs(5)) else {
        return;
    };
    let matchmaker = connect(config).await;
    // Warm the cache first, so the test proves register feeds it (not a cold first query).
    assert!(fanout_hosts(&matchmaker, "api").await.is_empty());
    matchmaker.register("api", "node-1").await.unwrap();
    assert_eq!(
        fanout_hosts(&matchmaker, "api").await,
        vec!["node-1".to_owned()]
    );
    matchmaker.unregister("api", "node-1").await.unwrap();
    assert!(fanout_hosts(&matchmaker, "api").await.is_empty());
    matchmaker.register("api", "node-2").await.unwrap();
    matchmaker.expire("api", "node-2").await.unwrap();
    assert!(fanout_hosts(&matchmaker, "api").await.is_empty());
    assert!(!matchmaker.is_alive("api", "node-2").await.unwrap());
    matchmaker.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_expired_by_another_instance_is_recreated_by_the_owners_heartbeat() {
    let Some(config) = shared_config("expired_elsewhere", Duration::from_secs(2)) else {
        return;
    };
    let owner = connect(config.clone()).await;
    let other = connect(config).await;
    owner.register("jobs", "node-o").await.unwrap();
    owner.start_heartbeat().unwrap();
    other.expire("jobs", "node-o").await.unwrap();
    assert!(!other.is_alive("jobs", "node-o").await.unwrap());
    // The owner does not know; its periodic reconcile (every 5 beats) notices and re-creates.
    let back = eventually(Duration::from_secs(10), || async {
        other.is_alive("jobs", "node-o").await.unwrap_or(false)
    })
    .await;
    assert!(
        back,
        "the owner's heartbeat did not re-create the expired registration"
    );
    owner.stop_heartbeat();
    owner.backend().purge_namespace().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_stream_ends_when_the_matchmaker_is_dropped() {
    let Some(config) = shared_config("stream_ends_on_drop", Duration::from_secs(5)) else {
        return;
    };
    let matchmaker = connect(config).await;
    let mut events = matchmaker.subscribe(None).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );
    assert!(fanout_hosts(&matchmaker, "t").await.is_empty());
    drop(matchmaker);
    // The loops are aborted, so the last sender goes and the stream ends.
    let ended = tokio::time::timeout(Duration::from_secs(5), events.next()).await;
    assert_eq!(ended.expect("the stream ends, it does not hang"), None);
}
