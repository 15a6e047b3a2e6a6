//! A 3-member etcd cluster on loopback with one member SIGKILLed: fresh connects given all three
//! endpoints, in every order, succeed, and a running instance keeps working.

mod support;

use std::time::Duration;

use matchmaker_core::MatchMaker;
use support::{config, fanout_hosts, random_prefix};

/// Every order of `items`.
fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (index, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(index);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_member_killed_fresh_connects_in_every_endpoint_order_succeed() {
    let test = "with_one_member_killed_fresh_connects_in_every_endpoint_order_succeed";
    let Some(mut cluster) = matchmaker_testkit::etcd::cluster_or_skip(3, test) else {
        return;
    };
    let endpoints = cluster.endpoints();
    let prefix = random_prefix("cluster");
    let holder = matchmaker_etcd::connect(config(&endpoints, &prefix))
        .await
        .expect("the holder connects to the healthy cluster");
    holder.register("scheduler", "node-h").await.unwrap();
    holder.start_heartbeat().unwrap();

    cluster.kill(0);
    let mut tries = 0;
    for order in permutations(&endpoints) {
        for _ in 0..5 {
            tries += 1;
            let fresh = matchmaker_etcd::connect(config(&order, &prefix))
                .await
                .unwrap_or_else(|error| panic!("connect via {order:?}: {error}"));
            let routes = fresh
                .queues("fanout~scheduler")
                .await
                .unwrap_or_else(|error| panic!("lookup via {order:?}: {error}"));
            assert_eq!(routes.len(), 1, "via {order:?}: {routes:?}");
        }
    }
    assert_eq!(tries, 30);
    matchmaker_testkit::figures::record(
        "etcd 3-member cluster: one member SIGKILLed",
        "fresh connects + lookups in every endpoint order that failed",
        format!("0 of {tries}"),
    );

    // The running instance keeps its registration alive and its requests keep working.
    tokio::time::sleep(support::TTL + Duration::from_secs(1)).await;
    assert_eq!(fanout_hosts(&holder, "scheduler").await, ["node-h"]);
    assert!(holder.is_alive("scheduler", "node-h").await.unwrap());
    holder.register("conductor", "node-h").await.unwrap();
    holder.unregister("conductor", "node-h").await.unwrap();
    holder.stop_heartbeat();
}
