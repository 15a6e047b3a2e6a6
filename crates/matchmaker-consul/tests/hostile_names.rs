//! Topics and hosts that are hard to map onto Consul round-trip exactly and never collide.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use matchmaker_core::MatchMaker;
use support::{connect, fanout_hosts, shared_config};

fn hostile_topics() -> Vec<String> {
    let mut topics: Vec<String> = [
        "a/b",
        "%2F",
        "a%2Fb",
        "with space",
        "ünïcødé",
        "雪.花",
        "UPPER",
        "upper",
        "a-b",
        "a--b",
        "-61",
        "a",
        "A",
        "a:b?c=d&e#f",
        "l3_agent.node1",
    ]
    .iter()
    .map(|topic| (*topic).to_owned())
    .collect();
    topics.push("t".repeat(255));
    topics.push(format!("{}u", "t".repeat(254)));
    topics
}

fn hostile_hosts() -> Vec<String> {
    vec![
        "h".to_owned(),
        "H".to_owned(),
        "%2F".to_owned(),
        "ünï.example".to_owned(),
        "h..x".to_owned(),
        "%2e%2e".to_owned(),
        "h".repeat(253),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_round_trip_exactly_and_never_collide() {
    let Some(config) = shared_config("hostile_names", Duration::from_secs(10)) else {
        return;
    };
    let matchmaker = connect(config).await;
    let topics = hostile_topics();
    let hosts = hostile_hosts();
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (index, topic) in topics.iter().enumerate() {
        // Each topic gets a different subset of hosts, so a collision would show.
        let mut chosen: Vec<String> = hosts
            .iter()
            .enumerate()
            .filter(|(n, _)| (n + index) % 3 != 0)
            .map(|(_, host)| host.clone())
            .collect();
        chosen.sort();
        for host in &chosen {
            matchmaker.register(topic, host).await.unwrap();
        }
        expected.insert(topic.clone(), chosen);
    }
    for (topic, hosts) in &expected {
        assert_eq!(
            &fanout_hosts(&matchmaker, topic).await,
            hosts,
            "topic {topic:?}"
        );
        for host in hosts {
            assert!(
                matchmaker.is_alive(topic, host).await.unwrap(),
                "{topic:?} {host:?}"
            );
        }
    }
    let listed = matchmaker.list(None).await.unwrap();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for info in listed {
        assert!(info.alive);
        seen.entry(info.topic).or_default().push(info.host);
    }
    for hosts in seen.values_mut() {
        hosts.sort();
    }
    assert_eq!(seen, expected);
    matchmaker.backend().purge_namespace().await.unwrap();
}
