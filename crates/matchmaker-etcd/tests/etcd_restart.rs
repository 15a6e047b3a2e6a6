//! etcd SIGKILLed and restarted mid-run (own server, same data dir and ports).

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use matchmaker_core::{MatchMaker, MembershipEvent};
use matchmaker_testkit::etcd::EtcdOptions;

mod support;
use support::{
    connect, eventually, fanout_hosts, keys_under, own_server, pair, random_prefix, raw_client,
    restart, wait_until_fanout,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_killed_and_restarted_recovers_registrations_and_serves_the_stale_cache_meanwhile() {
    let Some(mut server) = own_server("etcd_killed_and_restarted", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    let prefix = random_prefix("restart");
    let (a, b) = pair(&endpoints, &prefix).await;
    a.register("scheduler", "host-a").await.unwrap();
    a.start_heartbeat().unwrap();
    let seen = wait_until_fanout(&b, "scheduler", &["host-a"], Duration::from_secs(2)).await;
    assert!(seen.is_some(), "B never saw A");
    let mut events = b.subscribe(Some("scheduler")).unwrap();
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );

    server.kill();

    let stale = eventually(Duration::from_secs(3), || async {
        !b.backend().cache_status().connected
    })
    .await;
    assert!(stale.is_some(), "B's cache never reported the outage");
    let status = b.backend().cache_status();
    assert!(status.stale_since.is_some(), "{status:?}");
    // Lookups keep being answered from the last known state during the outage.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fanout_hosts(&b, "scheduler").await, ["host-a"]);
    assert!(b.is_alive("scheduler", "host-a").await.unwrap());

    let server = restart(server)
        .await
        .expect("etcd restarts on its data dir");

    let fresh = eventually(Duration::from_secs(10), || async {
        b.backend().cache_status().connected
    })
    .await;
    assert!(fresh.is_some(), "B's watch never came back");
    let scenario = "etcd single node: SIGKILL, restart on the same data dir";
    matchmaker_testkit::figures::record_duration(
        scenario,
        "another instance's watch back after the restart",
        fresh.unwrap_or_default(),
    );
    matchmaker_testkit::figures::record(
        scenario,
        "lookups during the outage",
        "the last known hosts, marked stale",
    );
    assert_eq!(b.backend().cache_status().stale_since, None);
    let raw = raw_client(&endpoints).await;
    let back = eventually(Duration::from_secs(5), || async {
        keys_under(&raw, &prefix).await.len() == 1
    })
    .await;
    assert!(
        back.is_some(),
        "A's registration is in etcd after the restart"
    );

    // The watch really works again: a new registration reaches B.
    a.register("scheduler", "host-c").await.unwrap();
    let both = wait_until_fanout(
        &b,
        "scheduler",
        &["host-a", "host-c"],
        Duration::from_secs(3),
    )
    .await;
    assert!(both.is_some(), "B's cache did not recover");
    // The outage and the re-list never made A look gone: the only event is host-c joining.
    let mut seen_events = Vec::new();
    while let Some(Some(event)) = events.next().now_or_never() {
        seen_events.push(event);
    }
    assert_eq!(
        seen_events,
        [MembershipEvent::joined(
            "scheduler",
            "host-c",
            Default::default()
        )]
    );
    // A's heartbeat keeps everything alive on the restarted server (past two TTLs).
    tokio::time::sleep(support::TTL * 2).await;
    assert_eq!(keys_under(&raw, &prefix).await.len(), 2);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restarted_without_its_data_gets_everything_reregistered() {
    let Some(mut server) = own_server("etcd_restarted_without_its_data", EtcdOptions::default())
    else {
        return;
    };
    let endpoints = server.endpoints();
    let prefix = random_prefix("wiped");
    let a = connect(&endpoints, &prefix).await;
    a.register("scheduler", "host-a").await.unwrap();
    a.register("conductor", "host-a").await.unwrap();
    a.start_heartbeat().unwrap();

    server.kill();
    std::fs::remove_dir_all(server.data_dir()).unwrap();
    let server = restart(server)
        .await
        .expect("etcd starts on an empty data dir");

    // The lease is gone with the data: the heartbeat must notice and re-put both keys.
    let raw = raw_client(&endpoints).await;
    let back = eventually(Duration::from_secs(10), || async {
        keys_under(&raw, &prefix).await.len() == 2
    })
    .await;
    assert!(back.is_some(), "registrations were not re-created");
    matchmaker_testkit::figures::record_duration(
        "etcd single node: SIGKILL, restart on an empty data dir",
        "both registrations re-created by the heartbeat after the restart",
        back.unwrap_or_default(),
    );
    let lookups = wait_until_fanout(&a, "conductor", &["host-a"], Duration::from_secs(5)).await;
    assert!(lookups.is_some());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_that_failed_during_an_outage_is_completed_by_a_later_heartbeat() {
    let Some(mut server) = own_server("unregister_during_an_outage", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    let prefix = random_prefix("outage-unregister");
    let a = connect(&endpoints, &prefix).await;
    a.register("scheduler", "host-a").await.unwrap();
    a.register("scheduler", "host-b").await.unwrap();
    assert!(
        a.backend().cache_status().connected,
        "connect waits for the watch"
    );

    server.kill();
    let outcome = a.unregister("scheduler", "host-a").await;
    assert!(
        matches!(outcome, Err(matchmaker_core::Error::Unavailable { .. })),
        "{outcome:?}"
    );
    let server = restart(server)
        .await
        .expect("etcd restarts on its data dir");

    // The lease survived the restart, so without the retry host-a would stay forever.
    let healed = eventually(Duration::from_secs(10), || async {
        a.send_heartbeats().await.is_ok()
    })
    .await;
    assert!(healed.is_some(), "heartbeats never succeeded again");
    let raw = raw_client(&endpoints).await;
    let keys = keys_under(&raw, &prefix).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("/host-b"), "{keys:?}");
    drop(server);
}
