//! The quickstart's memory flow, on paused tokio time: the example itself, then the same
//! facts asserted one by one.
#![cfg(feature = "memory")]

use std::time::Duration;

use matchmaker::memory::{connect, MemoryRegistry};
use matchmaker::{HeartbeatConfig, MatchMaker, Route};

#[path = "../examples/quickstart.rs"]
#[allow(dead_code)]
mod quickstart;

const TTL: Duration = quickstart::TTL;

#[tokio::test(start_paused = true)]
async fn quickstart_example_runs_and_shows_node3_leaving_after_its_ttl() {
    let mut out = Vec::new();
    quickstart::run(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let section = |from: &str, to: &str| {
        let start = text
            .find(from)
            .unwrap_or_else(|| panic!("{from:?} missing:\n{text}"));
        let end = text
            .find(to)
            .unwrap_or_else(|| panic!("{to:?} missing:\n{text}"));
        text[start..end].to_owned()
    };
    let lookups = section("2. Lookups", "3. node3");
    assert!(lookups.contains("scheduler.node1 @ node1"), "{lookups}");
    assert!(lookups.contains("scheduler.node3 @ node3"), "{lookups}");
    assert!(
        lookups.contains("fanout~scheduler.node2 @ node2"),
        "{lookups}"
    );
    let waiting = section("3. node3", "4. After");
    assert!(
        waiting.contains("event after 2.0s: node3 left scheduler"),
        "{waiting}"
    );
    let after = section("4. After", "5. node2");
    assert!(after.contains("fanout~scheduler.node1 @ node1"), "{after}");
    assert!(after.contains("fanout~scheduler.node2 @ node2"), "{after}");
    assert!(!after.contains("node3 @"), "{after}");
    assert!(after.contains("node3 alive? false"), "{after}");
    let last = section("5. node2", "done in");
    assert!(last.contains("event: node2 left scheduler"), "{last}");
    assert!(!last.contains("node2 @"), "{last}");
}

#[tokio::test(start_paused = true)]
async fn three_hosts_share_lookups_and_a_silent_host_leaves_only_after_its_ttl() {
    let registry = MemoryRegistry::new();
    let config = HeartbeatConfig::with_ttl(TTL);
    let mut hosts = Vec::new();
    for host in ["node1", "node2", "node3"] {
        let matchmaker = connect(&registry, config.clone()).unwrap();
        matchmaker.register("scheduler", host).await.unwrap();
        matchmaker.start_heartbeat().unwrap();
        hosts.push(matchmaker);
    }
    let asker = &hosts[0];
    let fanout = |names: &[&str]| -> Vec<Route> {
        names
            .iter()
            .map(|host| Route::new(format!("fanout~scheduler.{host}"), *host))
            .collect()
    };

    let one = asker.queues("scheduler").await.unwrap();
    assert_eq!(one.len(), 1);
    let host = one[0].host.clone().unwrap();
    assert_eq!(one[0].queue(), format!("scheduler.{host}"));
    assert_eq!(
        asker.queues("scheduler.node3").await.unwrap(),
        [Route::new("scheduler.node3", "node3")]
    );
    let all = fanout(&["node1", "node2", "node3"]);
    assert_eq!(asker.queues("fanout~scheduler").await.unwrap(), all);

    hosts[2].stop_heartbeat();
    tokio::time::sleep(TTL - Duration::from_millis(1)).await;
    assert_eq!(asker.queues("fanout~scheduler").await.unwrap(), all);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        asker.queues("fanout~scheduler").await.unwrap(),
        fanout(&["node1", "node2"])
    );
    tokio::time::sleep(TTL * 5).await;
    assert_eq!(
        asker.queues("fanout~scheduler").await.unwrap(),
        fanout(&["node1", "node2"]),
        "heartbeating hosts must stay"
    );
}
