//! Consul at host scale: a bounded number of agent connections per process whatever the number
//! of topics, and a process that dies leaves nothing that blocks the others.
//!
//! Each test starts its own agent, so the connections counted are this test's alone.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use matchmaker_consul::{ConsulMatchMaker, MAX_AGENT_CONNECTIONS};
use matchmaker_core::MatchMaker;
use matchmaker_testkit::consul::ConsulOptions;
use matchmaker_testkit::sockets;
use support::{config_for, connect, own_agent, unique_namespace};

const TOPICS: usize = 1000;
const REGISTERED_PER_INSTANCE: usize = 200;
const TTL: Duration = Duration::from_secs(5);

fn topic(index: usize) -> String {
    format!("scale-topic-{index:04}")
}

/// The host that instance `instance` registers for its topics.
fn host(instance: usize) -> String {
    format!("host-{instance}")
}

/// Registers topics `[first, first + count)` for `host`, eight at a time.
async fn register_range(matchmaker: &ConsulMatchMaker, first: usize, count: usize, host: String) {
    let topics: Vec<String> = (first..first + count).map(topic).collect();
    for chunk in topics.chunks(8) {
        let registered =
            join_all(chunk.iter().map(|topic| matchmaker.register(topic, &host))).await;
        for (topic, outcome) in chunk.iter().zip(registered) {
            outcome.unwrap_or_else(|error| panic!("register {topic} {host}: {error}"));
        }
    }
}

/// Looks up every topic; the number of topics whose one host is the expected one.
async fn correct_lookups(matchmaker: &ConsulMatchMaker, instances: usize) -> usize {
    let mut correct = 0;
    for index in 0..TOPICS {
        let owner = index / REGISTERED_PER_INSTANCE;
        let expected: Vec<String> = if owner < instances {
            vec![host(owner)]
        } else {
            Vec::new()
        };
        let routes = matchmaker
            .queues(&format!("fanout~{}", topic(index)))
            .await
            .unwrap_or_else(|error| panic!("lookup of {}: {error}", topic(index)));
        let hosts: Vec<String> = routes.hosts().map(str::to_owned).collect();
        if hosts == expected {
            correct += 1;
        }
    }
    correct
}

/// Waits until every lookup of every topic is right for `matchmaker` (bounded).
async fn all_lookups_become_correct(matchmaker: &ConsulMatchMaker, instances: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = correct_lookups(matchmaker, instances).await;
    while last < TOPICS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = correct_lookups(matchmaker, instances).await;
    }
    let correct = last == TOPICS;
    assert!(correct, "only {last} of {TOPICS} lookups were right");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_instances_watching_1000_topics_stay_within_the_connection_bound() {
    let test = "five_instances_watching_1000_topics_stay_within_the_connection_bound";
    let Some(agent) = own_agent(test, ConsulOptions::default()) else {
        return;
    };
    let config = config_for(&agent.addr(), &unique_namespace("scale"), TTL);
    let mut instances = Vec::new();
    for round in [0..2, 2..5] {
        for _ in round.clone() {
            instances.push(connect(config.clone()).await);
        }
        let started = Instant::now();
        join_all(round.clone().map(|index| {
            register_range(
                &instances[index],
                index * REGISTERED_PER_INSTANCE,
                REGISTERED_PER_INSTANCE,
                host(index),
            )
        }))
        .await;
        eprintln!(
            "{} registrations by {} instances at once in {:.1?}",
            round.len() * REGISTERED_PER_INSTANCE,
            round.len(),
            started.elapsed()
        );
        for matchmaker in &instances[round.clone()] {
            matchmaker.start_heartbeat().unwrap();
        }
        if round.start == 0 {
            // Two instances watching all 1000 topics.
            for matchmaker in &instances {
                all_lookups_become_correct(matchmaker, 2).await;
            }
            let two = sockets::connections_to(agent.http_port());
            eprintln!("connections to the agent with 2 instances watching {TOPICS} topics: {two}");
            assert!(two <= 16, "two instances hold {two} connections");
        }
    }

    // All five watching: every lookup right, connections within five times the bound.
    for matchmaker in &instances {
        all_lookups_become_correct(matchmaker, 5).await;
    }
    let five = sockets::connections_to(agent.http_port());
    eprintln!("connections to the agent with 5 instances watching {TOPICS} topics: {five}");
    assert!(
        five <= 5 * MAX_AGENT_CONNECTIONS,
        "five instances hold {five} connections (bound {MAX_AGENT_CONNECTIONS} each)"
    );
    // No clean-up: the agent is this test's own and dies with it.
}

/// Child process of [`a_killed_process_watching_1000_topics_leaves_the_agent_usable_at_once`]:
/// watches 1000 topics on the agent named by the environment, says so, then waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by a_killed_process_watching_1000_topics_leaves_the_agent_usable_at_once"]
async fn child_watches_1000_topics_until_killed() {
    let address = std::env::var("MM_SCALE_CHILD_AGENT").expect("run by the parent test");
    let namespace = std::env::var("MM_SCALE_CHILD_NAMESPACE").expect("run by the parent test");
    let matchmaker = connect(config_for(&address, &namespace, TTL)).await;
    matchmaker.register(&topic(0), "child").await.unwrap();
    matchmaker.start_heartbeat().unwrap();
    for index in 0..TOPICS {
        matchmaker.queues(&topic(index)).await.ok();
    }
    println!("WATCHING");
    // Bounded: the parent kills it long before.
    tokio::time::sleep(Duration::from_secs(120)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_watching_1000_topics_leaves_the_agent_usable_at_once() {
    let test = "a_killed_process_watching_1000_topics_leaves_the_agent_usable_at_once";
    let Some(agent) = own_agent(test, ConsulOptions::default()) else {
        return;
    };
    let namespace = unique_namespace("kill");
    let config = config_for(&agent.addr(), &namespace, TTL);
    let survivor = connect(config.clone()).await;
    survivor.register(&topic(1), "survivor").await.unwrap();
    survivor.start_heartbeat().unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_watches_1000_topics_until_killed",
            "--ignored",
            "--nocapture",
        ])
        .env("MM_SCALE_CHILD_AGENT", agent.addr())
        .env("MM_SCALE_CHILD_NAMESPACE", &namespace)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the test binary runs itself as the child");
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("WATCHING"))
    });
    let ready = tokio::time::timeout(Duration::from_secs(60), ready).await;
    assert!(
        matches!(ready, Ok(Ok(true))),
        "the child did not start watching: {ready:?}"
    );
    let with_child = sockets::connections_to(agent.http_port());
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    let close_wait = sockets::close_wait_on(agent.http_port());
    eprintln!(
        "connections with the child: {with_child}; agent sockets in CLOSE-WAIT right after \
         its SIGKILL: {close_wait}"
    );
    assert!(close_wait <= MAX_AGENT_CONNECTIONS, "{close_wait}");

    // A fresh instance works at once: its very first requests succeed.
    let fresh = matchmaker_consul::connect(config.clone())
        .await
        .expect("a fresh instance connects right after the SIGKILL");
    fresh
        .register(&topic(2), "fresh")
        .await
        .expect("a fresh instance registers right after the SIGKILL");
    assert_eq!(
        fresh.queues(&format!("fanout~{}", topic(1))).await.unwrap()[0]
            .host
            .as_deref(),
        Some("survivor")
    );
    // The survivor sees the newcomer (its first lookup of the topic may predate the
    // registration by one answer), and its requests never fail meanwhile.
    let seen = support::eventually(Duration::from_secs(5), || async {
        survivor
            .queues(&format!("fanout~{}", topic(2)))
            .await
            .is_ok_and(|routes| routes.len() == 1)
    })
    .await;
    assert!(seen, "the survivor does not see the fresh instance");
    for _ in 0..20 {
        survivor.ack_alive(&topic(1), "survivor").await.unwrap();
        let hosts = survivor
            .queues(&format!("fanout~{}", topic(2)))
            .await
            .unwrap();
        assert_eq!(hosts.len(), 1, "{hosts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
