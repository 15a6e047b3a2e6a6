//! Every telemetry counter the Consul backend counts moves when its event happens, against a
//! real agent: lookups, cache hits, heartbeats, re-registrations and watch restarts.

mod support;

use std::time::Duration;

use matchmaker_core::telemetry::{self, Counters};
use matchmaker_core::MatchMaker;
use matchmaker_testkit::consul::ConsulOptions;
use support::{config_for, connect, eventually, own_agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_of_the_consul_backend_is_counted() {
    let counters = Counters::global();
    let count = |name| counters.get(name, "consul");
    let Some(mut agent) = own_agent("consul_counters", ConsulOptions::default()) else {
        return;
    };
    let matchmaker = connect(config_for(
        &agent.addr(),
        "counters",
        Duration::from_secs(2),
    ))
    .await;
    let (lookups, hits, beats) = (
        count(telemetry::LOOKUPS),
        count(telemetry::CACHE_HITS),
        count(telemetry::HEARTBEATS_SENT),
    );
    matchmaker.register("compute", "node-a").await.unwrap();
    for _ in 0..3 {
        matchmaker.queues("fanout~compute").await.unwrap();
    }
    assert!(count(telemetry::LOOKUPS) >= lookups + 3);
    assert!(count(telemetry::CACHE_HITS) >= hits + 3);
    matchmaker.send_heartbeats().await.unwrap();
    assert!(count(telemetry::HEARTBEATS_SENT) > beats);

    // The agent restarts and forgets us: the watch comes back and everything is re-registered.
    matchmaker.start_heartbeat().unwrap();
    let (reregistrations, restarts) = (
        count(telemetry::REREGISTRATIONS),
        count(telemetry::WATCH_RESTARTS),
    );
    agent
        .restart()
        .expect("the agent restarts on the same ports");
    let counted = eventually(Duration::from_secs(15), || async {
        count(telemetry::REREGISTRATIONS) > reregistrations
            && count(telemetry::WATCH_RESTARTS) > restarts
    })
    .await;
    assert!(
        counted,
        "reregistrations {} (was {reregistrations}), watch restarts {} (was {restarts})",
        count(telemetry::REREGISTRATIONS),
        count(telemetry::WATCH_RESTARTS)
    );
}
