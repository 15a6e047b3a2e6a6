//! Every telemetry counter the memory backend counts moves when its event happens: lookups,
//! heartbeats and re-registrations (it has no cache or watch to count).

use std::time::Duration;

use matchmaker_core::telemetry::{self, Counters};
use matchmaker_core::{HeartbeatConfig, MatchMaker};
use matchmaker_memory::{connect, MemoryRegistry};

#[tokio::test]
async fn every_counter_of_the_memory_backend_is_counted() {
    let counters = Counters::global();
    let count = |name| counters.get(name, "memory");
    let registry = MemoryRegistry::new();
    let matchmaker = connect(
        &registry,
        HeartbeatConfig::with_ttl(Duration::from_secs(30)),
    )
    .unwrap();
    let other = connect(
        &registry,
        HeartbeatConfig::with_ttl(Duration::from_secs(30)),
    )
    .unwrap();
    let (lookups, beats, reregistrations) = (
        count(telemetry::LOOKUPS),
        count(telemetry::HEARTBEATS_SENT),
        count(telemetry::REREGISTRATIONS),
    );
    matchmaker.register("t", "h").await.unwrap();
    for _ in 0..3 {
        matchmaker.queues("fanout~t").await.unwrap();
    }
    assert!(count(telemetry::LOOKUPS) >= lookups + 3);
    matchmaker.send_heartbeats().await.unwrap();
    assert!(count(telemetry::HEARTBEATS_SENT) > beats);
    // Removed by another instance: the owner's next acknowledgement re-creates it.
    other.expire("t", "h").await.unwrap();
    matchmaker.ack_alive("t", "h").await.unwrap();
    assert!(count(telemetry::REREGISTRATIONS) > reregistrations);
}
