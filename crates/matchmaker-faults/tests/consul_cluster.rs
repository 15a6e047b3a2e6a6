//! Consul cluster: client agent SIGKILL. A server and two client agents A and B; one holder
//! registers `topic`/`node-a` through A, another `topic`/`node-b` through B, both heartbeat (TTL
//! 2 s), and a reader on B looks them up. A is killed with SIGKILL: the reader must stop
//! returning `node-a` within [`DROP_BOUND`] (10 s) while every one of its lookups, from the kill
//! until a while after the drop, still returns `node-b`.
//!
//! Nothing on A can fail its TTL check any more, so `node-a` only goes when the server's gossip
//! declares A's node failed (its `serfHealth` check goes critical, which the backend's watch of
//! node checks sees). With the cluster's gossip settings (see `ConsulCluster`: probe every 200 ms,
//! failed 400 ms after suspicion) that took 0.64–1.17 s over eight runs on a 2-core machine, two
//! of them with both cores saturated; the bound is about ten times the slowest, and still fails a
//! backend that ignores node health (a dead agent's TTL check is never run again, so `node-a`
//! would stay).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use matchmaker_consul::{ConsulConfig, ConsulMatchMaker};
use matchmaker_core::{HeartbeatConfig, MatchMaker};
use matchmaker_faults::{fanout_hosts, record, record_duration, wait_for};
use matchmaker_testkit::consul::ConsulCluster;

const SCENARIO: &str = "Consul cluster: client agent SIGKILL";
const TOPIC: &str = "topic";
/// How long the reader on B may take to see the holder registered through A.
const SEEN_BOUND: Duration = Duration::from_secs(15);
/// How long the reader may keep returning `node-a` after agent A was killed.
const DROP_BOUND: Duration = Duration::from_secs(10);
/// How long lookups keep being checked after the drop: longer than the TTL, so B's holder
/// must have heartbeated through it.
const AFTER_DROP: Duration = Duration::from_secs(4);

/// A config for the agent at `address`: TTL 2 s and a short request timeout.
fn config(address: &str, namespace: &str) -> ConsulConfig {
    ConsulConfig {
        address: address.to_owned(),
        namespace: namespace.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(Duration::from_secs(2)),
        blocking_wait: Duration::from_secs(10),
        request_timeout: Duration::from_secs(2),
        ..ConsulConfig::default()
    }
}

/// Lines of the server's log where gossip suspected or failed `node`.
fn suspicions_of(cluster: &ConsulCluster, node: &str) -> Vec<String> {
    std::fs::read_to_string(cluster.server_log_path())
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            line.contains(&format!("Suspect {node} "))
                || line.contains(&format!("Marking {node} as failed"))
        })
        .map(str::to_owned)
        .collect()
}

async fn connect(config: ConsulConfig) -> ConsulMatchMaker {
    matchmaker_consul::connect(config.clone())
        .await
        .unwrap_or_else(|error| panic!("connect to {}: {error}", config.address))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consul_client_agent_sigkill_drops_its_holder_and_keeps_the_other() {
    let test = "consul_client_agent_sigkill";
    let starting = std::time::Instant::now();
    let mut cluster = match ConsulCluster::start(2) {
        Ok(cluster) => {
            eprintln!(
                "cluster of 1 server + 2 clients ready after {:?}",
                starting.elapsed()
            );
            cluster
        }
        Err(error) if matchmaker_testkit::required() => {
            panic!("{test}: a consul cluster is required but could not start: {error}")
        }
        Err(error) => {
            eprintln!("skipping {test}: no consul cluster: {error}");
            return;
        }
    };
    let namespace = format!("{test}-{:08x}", fastrand::u32(..));
    let (agent_a, agent_b) = (cluster.client_addr(0), cluster.client_addr(1));
    // The reader's watch runs before anything registers, so the figure is the propagation from
    // agent A through the server to a blocking query on agent B, not a first query.
    let reader = connect(config(&agent_b, &namespace)).await;
    assert_eq!(fanout_hosts(&reader, TOPIC).await, Some(Vec::new()));
    let holder_b = connect(config(&agent_b, &namespace)).await;
    holder_b.register(TOPIC, "node-b").await.unwrap();
    holder_b.start_heartbeat().unwrap();
    let holder_a = connect(config(&agent_a, &namespace)).await;
    holder_a.register(TOPIC, "node-a").await.unwrap();
    holder_a.start_heartbeat().unwrap();

    let both = vec!["node-a".to_owned(), "node-b".to_owned()];
    let seen = wait_for(SEEN_BOUND, || async {
        fanout_hosts(&reader, TOPIC).await.as_ref() == Some(&both)
    })
    .await;
    let seen = match seen {
        Ok(took) => took,
        Err(waited) => panic!(
            "the reader on {agent_b} did not see both hosts after {waited:?}: {:?}",
            fanout_hosts(&reader, TOPIC).await
        ),
    };
    record_duration(SCENARIO, "seen on the other agent after", seen);

    cluster.kill_client(0);
    let polls = AtomicUsize::new(0);
    let b_missing = AtomicUsize::new(0);
    // One poll: a lookup that must hold `node-b`; true when `node-a` is gone from it.
    let poll = || async {
        polls.fetch_add(1, Ordering::Relaxed);
        let hosts = fanout_hosts(&reader, TOPIC).await;
        if !hosts
            .as_ref()
            .is_some_and(|hosts| hosts.iter().any(|host| host == "node-b"))
        {
            b_missing.fetch_add(1, Ordering::Relaxed);
            eprintln!("node-b missing from a lookup: {hosts:?}");
        }
        hosts.is_some_and(|hosts| !hosts.iter().any(|host| host == "node-a"))
    };
    let dropped = wait_for(DROP_BOUND, poll).await.unwrap_or_else(|waited| {
        panic!(
            "node-a still in the lookups {waited:?} after its agent was killed; the server's \
             gossip about A's agent: {:#?}",
            suspicions_of(&cluster, cluster.client_node(0))
        )
    });
    record_duration(
        SCENARIO,
        "holder on the dead agent gone from the other agent's lookups after",
        dropped,
    );
    // After the drop: node-a stays gone and node-b stays, past a TTL of B's heartbeats.
    let a_back = wait_for(AFTER_DROP, || async { !poll().await }).await;
    assert!(
        a_back.is_err(),
        "node-a came back after {a_back:?}: {:?}",
        fanout_hosts(&reader, TOPIC).await
    );
    let missing = b_missing.load(Ordering::Relaxed);
    record(SCENARIO, "polls without node-b", missing);
    record(SCENARIO, "polls", polls.load(Ordering::Relaxed));
    let suspicions = suspicions_of(&cluster, cluster.client_node(1));
    eprintln!(
        "gossip suspected B's running agent {} times",
        suspicions.len()
    );
    assert_eq!(
        missing, 0,
        "node-b, whose agent runs, was missing from {missing} lookups; the server's gossip \
         about B's agent: {suspicions:#?}"
    );
    holder_b.stop_heartbeat();
    drop(holder_a);
}
