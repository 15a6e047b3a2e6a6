//! Every telemetry counter the etcd backend counts moves when its event happens, against a real
//! etcd: lookups, cache hits, heartbeats, re-registrations and watch restarts.

mod support;

use std::time::Duration;

use matchmaker_core::telemetry::{self, Counters};
use matchmaker_core::MatchMaker;
use matchmaker_testkit::etcd::EtcdOptions;
use support::{connect, eventually, own_server, random_prefix, restart, wait_until_fanout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_of_the_etcd_backend_is_counted() {
    let counters = Counters::global();
    let count = |name| counters.get(name, "etcd");
    let Some(mut server) = own_server("etcd_counters", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    let a = connect(&endpoints, &random_prefix("counters")).await;
    let (lookups, hits, beats) = (
        count(telemetry::LOOKUPS),
        count(telemetry::CACHE_HITS),
        count(telemetry::HEARTBEATS_SENT),
    );
    a.register("scheduler", "host-a").await.unwrap();
    for _ in 0..3 {
        a.queues("fanout~scheduler").await.unwrap();
    }
    assert!(count(telemetry::LOOKUPS) >= lookups + 3);
    assert!(count(telemetry::CACHE_HITS) >= hits + 3);
    a.send_heartbeats().await.unwrap();
    assert!(count(telemetry::HEARTBEATS_SENT) > beats);

    // etcd loses its data: the watch is re-established and both registrations re-put.
    a.register("conductor", "host-a").await.unwrap();
    a.start_heartbeat().unwrap();
    let (reregistrations, restarts) = (
        count(telemetry::REREGISTRATIONS),
        count(telemetry::WATCH_RESTARTS),
    );
    server.kill();
    std::fs::remove_dir_all(server.data_dir()).unwrap();
    server = restart(server)
        .await
        .expect("etcd starts on an empty data dir");
    let back = wait_until_fanout(&a, "conductor", &["host-a"], Duration::from_secs(10)).await;
    assert!(back.is_some(), "the registrations did not come back");
    let counted = eventually(Duration::from_secs(10), || async {
        count(telemetry::REREGISTRATIONS) >= reregistrations + 2
            && count(telemetry::WATCH_RESTARTS) > restarts
    })
    .await;
    assert!(
        counted.is_some(),
        "reregistrations {} (was {reregistrations}), watch restarts {} (was {restarts})",
        count(telemetry::REREGISTRATIONS),
        count(telemetry::WATCH_RESTARTS)
    );
    drop(server);
}
