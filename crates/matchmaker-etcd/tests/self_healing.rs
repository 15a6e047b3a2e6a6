//! Lease revoked and keys deleted from outside: the next heartbeat repairs everything.

use std::time::Duration;

use matchmaker_core::MatchMaker;

mod support;
use support::{
    connect, eventually, fanout_hosts, keys_under, pair, random_prefix, raw_client,
    shared_endpoints, wait_until_fanout, wait_until_fanout_is_empty,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_revoked_from_outside_is_reregistered_by_the_next_heartbeat() {
    let Some(endpoints) = shared_endpoints("lease_revoked_from_outside") else {
        return;
    };
    let prefix = random_prefix("revoked");
    let raw = raw_client(&endpoints).await;
    let (a, b) = pair(&endpoints, &prefix).await;
    // More than one transaction's worth (128), so re-registration must split its writes.
    let hosts: Vec<String> = (0..300).map(|i| format!("host-{i:03}")).collect();
    for host in &hosts {
        a.register("conductor", host).await.unwrap();
    }
    let old_lease = a.backend().lease_id();

    raw.clone().lease_revoke(old_lease).await.unwrap();
    assert!(
        keys_under(&raw, &prefix).await.is_empty(),
        "revoking deletes the keys"
    );
    let emptied = wait_until_fanout_is_empty(&b, "conductor", Duration::from_secs(2)).await;
    assert!(emptied.is_some(), "B saw the keys go");

    let healing = std::time::Instant::now();
    a.send_heartbeats().await.unwrap();
    matchmaker_testkit::figures::record_duration(
        "etcd: lease revoked from outside (300 registrations)",
        "the heartbeat that re-put them all took",
        healing.elapsed(),
    );

    assert_ne!(a.backend().lease_id(), old_lease, "a new lease was granted");
    assert_eq!(keys_under(&raw, &prefix).await.len(), hosts.len());
    let back = wait_until_fanout(&b, "conductor", &hosts, Duration::from_secs(2)).await;
    assert!(back.is_some(), "B sees every registration again");
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_deleted_from_outside_is_healed_by_the_next_heartbeat() {
    let Some(endpoints) = shared_endpoints("key_deleted_from_outside") else {
        return;
    };
    let prefix = random_prefix("deleted");
    let raw = raw_client(&endpoints).await;
    let a = connect(&endpoints, &prefix).await;
    a.register("network", "host-a").await.unwrap();
    a.register("network", "host-b").await.unwrap();
    let key = matchmaker_etcd::naming::registration_key(&prefix, "network", "host-a");

    raw.clone().delete(key.clone(), None).await.unwrap();
    let noticed = eventually(Duration::from_secs(2), || async {
        !a.is_alive("network", "host-a").await.unwrap()
    })
    .await;
    assert!(noticed.is_some(), "the watch reported the delete");

    let healing = std::time::Instant::now();
    a.send_heartbeats().await.unwrap();
    matchmaker_testkit::figures::record_duration(
        "etcd: a key deleted from outside",
        "the heartbeat that re-created it took",
        healing.elapsed(),
    );

    let value = raw.clone().get(key, None).await.unwrap();
    assert_eq!(value.kvs().len(), 1, "the key is back");
    assert_eq!(value.kvs()[0].lease(), a.backend().lease_id());
    assert_eq!(fanout_hosts(&a, "network").await, ["host-a", "host-b"]);
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_heartbeat_writes_nothing() {
    let Some(endpoints) = shared_endpoints("steady_state_heartbeat_writes_nothing") else {
        return;
    };
    let prefix = random_prefix("steady");
    let raw = raw_client(&endpoints).await;
    let a = connect(&endpoints, &prefix).await;
    a.register("steady", "host-a").await.unwrap();
    let key = matchmaker_etcd::naming::registration_key(&prefix, "steady", "host-a");
    let before = raw.clone().get(key.clone(), None).await.unwrap().kvs()[0].mod_revision();

    for _ in 0..3 {
        a.send_heartbeats().await.unwrap();
    }

    let after = raw.clone().get(key, None).await.unwrap().kvs()[0].mod_revision();
    assert_eq!(before, after, "a heartbeat only sends a keep-alive");
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_after_a_lost_lease_gets_a_new_lease_and_the_beat_restores_the_rest() {
    let Some(endpoints) = shared_endpoints("register_after_the_lease_vanished") else {
        return;
    };
    let prefix = random_prefix("register-lost");
    let raw = raw_client(&endpoints).await;
    let a = connect(&endpoints, &prefix).await;
    a.register("first", "host-a").await.unwrap();
    let old_lease = a.backend().lease_id();
    raw.clone().lease_revoke(old_lease).await.unwrap();

    // The put itself finds the lease gone: a new one is granted and the key is written.
    a.register("second", "host-a").await.unwrap();
    assert_ne!(a.backend().lease_id(), old_lease);
    assert!(a.is_alive("second", "host-a").await.unwrap());

    // The key on the lost lease is the matchmaker's to restore: the next beat does.
    a.send_heartbeats().await.unwrap();
    assert_eq!(keys_under(&raw, &prefix).await.len(), 2);
    assert!(a.is_alive("first", "host-a").await.unwrap());
    support::delete_prefix(&endpoints, &prefix).await;
}
