//! Two instances ("hosts") in one namespace against the shared etcd.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use matchmaker_core::{MatchMaker, MembershipEvent};

mod support;
use support::{
    config, connect, eventually, pair, random_prefix, shared_endpoints, wait_until_fanout,
    wait_until_fanout_is_empty, TTL,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_on_one_instance_appears_in_the_other_instances_lookups() {
    let Some(endpoints) = shared_endpoints("registration_on_one_instance_appears") else {
        return;
    };
    let prefix = random_prefix("two-instances");
    let (a, b) = pair(&endpoints, &prefix).await;
    let mut joins = b.subscribe(Some("scheduler")).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), joins.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );

    a.register("scheduler", "host-a").await.unwrap();

    let seen = wait_until_fanout(&b, "scheduler", &["host-a"], Duration::from_secs(2)).await;
    assert!(seen.is_some(), "B never saw A's registration");
    assert!(b.is_alive("scheduler", "host-a").await.unwrap());
    let event = tokio::time::timeout(Duration::from_secs(2), joins.next()).await;
    assert_eq!(
        event.unwrap(),
        Some(MembershipEvent::joined(
            "scheduler",
            "host-a",
            Default::default()
        ))
    );
    assert!(b.backend().cache_status().connected);

    a.unregister("scheduler", "host-a").await.unwrap();
    let gone = wait_until_fanout_is_empty(&b, "scheduler", Duration::from_secs(2)).await;
    assert!(gone.is_some(), "B still sees A after unregister");
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_instance_leaves_the_other_instances_lookups_within_ttl_plus_one_second() {
    let Some(endpoints) = shared_endpoints("crashed_instance_leaves") else {
        return;
    };
    let prefix = random_prefix("crash");
    let (a, b) = pair(&endpoints, &prefix).await;
    a.register("compute", "host-a").await.unwrap();
    a.start_heartbeat().unwrap();
    let seen = wait_until_fanout(&b, "compute", &["host-a"], Duration::from_secs(2)).await;
    assert!(seen.is_some(), "B never saw A");
    let mut leaves = b.subscribe(Some("compute")).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), leaves.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );

    // The crash: no more keep-alives, no unregister. The last keep-alive is sent right here.
    a.stop_heartbeat();
    a.send_heartbeats().await.unwrap();
    let last_keep_alive = Instant::now();
    drop(a);

    let left = wait_until_fanout_is_empty(&b, "compute", TTL + Duration::from_secs(3)).await;
    let after = last_keep_alive.elapsed();
    assert!(left.is_some(), "A never left B's lookups");
    assert!(
        after <= TTL + Duration::from_secs(1),
        "A left B's lookups {after:?} after its last keep-alive, more than TTL + 1 s"
    );
    let event = tokio::time::timeout(Duration::from_secs(1), leaves.next()).await;
    assert!(
        matches!(event, Ok(Some(MembershipEvent::Left { .. }))),
        "{event:?}"
    );
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_stream_ends_when_the_matchmaker_is_dropped() {
    let Some(endpoints) = shared_endpoints("membership_stream_ends") else {
        return;
    };
    let prefix = random_prefix("stream-end");
    let a = connect(&endpoints, &prefix).await;
    let mut events = a.subscribe(None).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );
    a.register("t", "h").await.unwrap();
    let joined = tokio::time::timeout(Duration::from_secs(2), events.next()).await;
    assert!(
        matches!(joined, Ok(Some(MembershipEvent::Joined { .. }))),
        "{joined:?}"
    );

    drop(a);

    // The watch task is aborted with the backend, which closes every stream (events sent
    // before the drop, like a lease expiry on a slow machine, may still be read first).
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while events.next().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the stream did not end");
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_shows_the_instance_the_time_left_and_the_metadata() {
    let Some(endpoints) = shared_endpoints("list_shows_the_instance") else {
        return;
    };
    let prefix = random_prefix("list");
    let mut with_metadata = config(&endpoints, &prefix);
    with_metadata.metadata.insert("zone".into(), "eu-1".into());
    let a = matchmaker_etcd::connect(with_metadata).await.unwrap();
    let b = connect(&endpoints, &prefix).await;
    a.register("compute", "host-a").await.unwrap();

    let seen = eventually(Duration::from_secs(2), || async {
        b.is_alive("compute", "host-a").await.unwrap()
    })
    .await;
    assert!(seen.is_some());
    let listed = b.list(Some("compute")).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let info = &listed[0];
    assert_eq!(
        (info.topic.as_str(), info.host.as_str()),
        ("compute", "host-a")
    );
    assert_eq!(info.instance.as_deref(), Some(a.backend().instance()));
    assert!(info.alive);
    let ttl_left = info.ttl_left.expect("the lease's time to live is known");
    assert!(ttl_left <= TTL, "{ttl_left:?}");

    let raw = support::raw_client(&endpoints).await;
    let key = matchmaker_etcd::naming::registration_key(&prefix, "compute", "host-a");
    let value = raw.clone().get(key, None).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(value.kvs()[0].value()).unwrap();
    assert_eq!(json["metadata"]["zone"], "eu-1");
    assert_eq!(json["topic"], "compute");
    assert_eq!(json["instance"], a.backend().instance());
    support::delete_prefix(&endpoints, &prefix).await;
}

/// Why `ack_alive` creates a missing key in a create-if-missing transaction and never puts over
/// one: a plain put would move another instance's record onto this process's lease, under its
/// instance id and without the metadata it was registered with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_alive_of_a_pair_another_instance_registered_leaves_its_record_alone() {
    let Some(endpoints) = shared_endpoints("ack_alive_leaves_another_instances_record") else {
        return;
    };
    let prefix = random_prefix("ack-other");
    let (a, b) = pair(&endpoints, &prefix).await;
    let metadata: matchmaker_core::Metadata = [("zone".to_owned(), "a".to_owned())].into();
    a.register_with("t", "h", metadata).await.unwrap();
    let seen = wait_until_fanout(&b, "t", &["h"], Duration::from_secs(2)).await;
    assert!(seen.is_some(), "B never saw A's registration");
    let mut raw = support::raw_client(&endpoints).await;
    let key = matchmaker_etcd::naming::registration_key(&prefix, "t", "h");
    let record = |response: etcd_client::GetResponse| {
        let kv = response.kvs().first().expect("the key exists").clone();
        (kv.lease(), kv.value().to_vec())
    };
    let before = record(raw.get(key.as_str(), None).await.unwrap());

    b.ack_alive("t", "h").await.unwrap();

    let after = record(raw.get(key.as_str(), None).await.unwrap());
    assert_eq!(
        (after.0, String::from_utf8_lossy(&after.1)),
        (before.0, String::from_utf8_lossy(&before.1)),
        "B's ack_alive changed A's record (lease, value)"
    );
    assert!(b.registrations().is_empty());
    support::delete_prefix(&endpoints, &prefix).await;
}
