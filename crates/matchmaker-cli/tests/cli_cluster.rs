//! The `matchmaker` binary against a 3-member etcd cluster with one member SIGKILLed: 100 fresh
//! `queues` calls given all three endpoints, in every order, all succeed.

mod support;

use support::{outcome, run};

#[test]
fn with_one_member_killed_100_fresh_queues_calls_in_every_endpoint_order_succeed() {
    let Some(mut cluster) = matchmaker_testkit::etcd::cluster_or_skip(3, "cli_cluster") else {
        return;
    };
    let endpoints = cluster.endpoints();
    let space = format!("mm-cli-cluster-{:08x}", std::process::id());
    let url = |order: &[String]| format!("etcd://{}/{space}", order.join(","));
    let (code, _, stderr) = outcome(&run(&[
        "--url",
        &url(&endpoints),
        "register",
        "scheduler",
        "node-c",
        "--ttl",
        "60s",
    ]));
    assert_eq!(code, Some(0), "{stderr}");

    cluster.kill(0);
    let orders: Vec<Vec<String>> = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ]
    .iter()
    .map(|order| {
        order
            .iter()
            .map(|&index| endpoints[index].clone())
            .collect()
    })
    .collect();
    let started = std::time::Instant::now();
    for call in 0..100 {
        let order = &orders[call % orders.len()];
        let (code, stdout, stderr) =
            outcome(&run(&["--url", &url(order), "queues", "fanout~scheduler"]));
        assert_eq!(code, Some(0), "call {call} via {order:?}: {stderr}");
        assert!(
            stdout.contains("node-c"),
            "call {call} via {order:?}: {stdout}"
        );
    }
    let scenario = "etcd 3-member cluster: one member SIGKILLed";
    matchmaker_testkit::figures::record(
        scenario,
        "fresh CLI `queues` calls that failed",
        "0 of 100",
    );
    matchmaker_testkit::figures::record_duration(
        scenario,
        "mean time of one fresh CLI `queues` call (process start to exit)",
        started.elapsed() / 100,
    );
}
