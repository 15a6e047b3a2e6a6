//! `register_many` registers 200 services four at a time (the write lane's connections) with
//! one TTL check pass; the time is recorded beside 50 made one `register` at a time.

mod support;

use std::time::{Duration, Instant};

use matchmaker_core::MatchMaker;
use support::{connect, fanout_hosts, shared_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_many_registers_two_hundred_services_concurrently() {
    let Some(config) = shared_config("register_many", Duration::from_secs(10)) else {
        return;
    };
    let writer = connect(config.clone()).await;
    let reader = connect(config).await;
    let hosts: Vec<String> = (0..200).map(|index| format!("host-{index:03}")).collect();
    let pairs: Vec<(&str, &str)> = hosts.iter().map(|host| ("bulk", host.as_str())).collect();

    let started = Instant::now();
    writer.register_many(&pairs).await.unwrap();
    let bulk = started.elapsed();
    assert_eq!(fanout_hosts(&writer, "bulk").await, hosts);
    assert!(reader.is_alive("bulk", "host-199").await.unwrap());

    let started = Instant::now();
    for host in &hosts[..50] {
        writer.register("one-by-one", host).await.unwrap();
    }
    let one_by_one = started.elapsed();

    let scenario = "Consul: bulk registration";
    matchmaker_testkit::figures::record_duration(scenario, "200 pairs with register_many", bulk);
    matchmaker_testkit::figures::record_duration(
        scenario,
        "50 pairs with register, one after another",
        one_by_one,
    );
    writer.backend().purge_namespace().await.unwrap();
}
