//! A lease exists only for registrations: looking up grants none, and a one-shot register's
//! lease is gone once its TTL runs out.

mod support;

use std::time::Duration;

use matchmaker_core::MatchMaker;
use matchmaker_testkit::etcd::EtcdOptions;
use support::{connect, eventually, own_server, random_prefix, raw_client, TTL};

async fn lease_count(client: &etcd_client::Client) -> usize {
    client
        .clone()
        .leases()
        .await
        .expect("etcd lists its leases")
        .leases()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matchmaker_that_only_looks_up_grants_no_lease() {
    let test = "a_matchmaker_that_only_looks_up_grants_no_lease";
    let Some(server) = own_server(test, EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    let raw = raw_client(&endpoints).await;
    let prefix = random_prefix("leases");
    let before = lease_count(&raw).await;
    for _ in 0..5 {
        let reader = connect(&endpoints, &prefix).await;
        reader.queues("fanout~scheduler").await.unwrap();
        reader.queues("scheduler").await.unwrap();
        assert!(!reader.is_alive("scheduler", "node1").await.unwrap());
        assert_eq!(reader.backend().lease_id(), 0);
    }
    assert_eq!(lease_count(&raw).await, before, "lookups granted leases");

    // A registration grants exactly one lease, which outlives a one-shot process only by its TTL.
    let writer = connect(&endpoints, &prefix).await;
    writer.register("scheduler", "node1").await.unwrap();
    writer.register("conductor", "node1").await.unwrap();
    assert_eq!(lease_count(&raw).await, before + 1);
    assert_ne!(writer.backend().lease_id(), 0);
    drop(writer);
    let expired = eventually(TTL + Duration::from_secs(3), || async {
        lease_count(&raw).await == before
    })
    .await;
    assert!(
        expired.is_some(),
        "the one-shot register's lease outlived its TTL"
    );
}
