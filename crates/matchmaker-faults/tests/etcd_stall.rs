//! etcd stalls (SIGSTOP, then SIGCONT: what a long WAL fsync on a loaded disk does to it) while
//! a holder heartbeats with a 3 s TTL (a keep-alive every second) and a reader watches.
//!
//! - A stall of half the TTL (1.5 s) costs nothing: no registration is lost and the reader never
//!   sees one leave. A registration survives a stall shorter than TTL - interval (2 s here), less
//!   one round trip; this is the rule RELIABILITY.md derives its minimum TTL from.
//! - A stall of 1.5 TTL (4.5 s) lets the lease expire once etcd resumes; the holder's next
//!   heartbeat grants a new lease and re-puts everything, and the time the registrations were
//!   missing is recorded (lost for good: 0).

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use matchmaker_core::{HeartbeatConfig, MatchMaker, MembershipEvent};
use matchmaker_etcd::{EtcdConfig, EtcdMatchMaker};
use matchmaker_faults::{fanout_hosts, record, wait_for};
use matchmaker_testkit::etcd::{EtcdOptions, EtcdServer};

const TTL: Duration = Duration::from_secs(3);
const TOPICS: [&str; 3] = ["s0", "s1", "s2"];
const HOST: &str = "node-s";
const BOUND: Duration = Duration::from_secs(15);

fn server_or_skip(test: &str) -> Option<EtcdServer> {
    match EtcdServer::start(EtcdOptions::default()) {
        Ok(server) => Some(server),
        Err(error) if matchmaker_testkit::required() => {
            panic!("{test}: etcd could not start: {error}")
        }
        Err(error) => {
            eprintln!("skipping {test}: {error}");
            None
        }
    }
}

async fn connect(server: &EtcdServer, prefix: &str) -> EtcdMatchMaker {
    matchmaker_etcd::connect(EtcdConfig {
        endpoints: server.endpoints(),
        prefix: prefix.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(TTL),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..EtcdConfig::default()
    })
    .await
    .expect("connects")
}

fn signal(server: &EtcdServer, signal: &str) {
    let pid = server.pid().expect("etcd runs").to_string();
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal} {pid}");
}

async fn all_present(matchmaker: &EtcdMatchMaker) -> bool {
    for topic in TOPICS {
        if fanout_hosts(matchmaker, topic).await != Some(vec![HOST.to_owned()]) {
            return false;
        }
    }
    true
}

/// Stalls etcd for `stall`; returns (Left events the reader saw, how long its lookups missed a
/// registration after the resume, registrations missing at the end).
async fn stall_once(test: &str, stall: Duration) -> Option<(usize, Duration, usize)> {
    let server = server_or_skip(test)?;
    let prefix = format!("/mm-faults/{test}-{:08x}/", fastrand::u32(..));
    let holder = connect(&server, &prefix).await;
    for topic in TOPICS {
        holder.register(topic, HOST).await.expect("registers");
    }
    holder.start_heartbeat().expect("heartbeat starts");
    let reader = connect(&server, &prefix).await;
    wait_for(BOUND, || all_present(&reader))
        .await
        .expect("the reader sees every registration");
    let mut events = reader.subscribe(None).expect("subscribes");
    // The first item is the membership at the first poll; changes follow it.
    let first = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
    assert!(
        matches!(
            first,
            Ok(Some(MembershipEvent::Snapshot { lagged: false, .. }))
        ),
        "{first:?}"
    );

    signal(&server, "STOP");
    tokio::time::sleep(stall).await;
    signal(&server, "CONT");
    let resumed = Instant::now();
    // For two TTLs after the resume (whatever expired has been seen and healed by then), note
    // when lookups first and last missed a registration.
    let mut missed: Option<(Duration, Duration)> = None;
    while resumed.elapsed() < TTL * 2 {
        if !all_present(&reader).await {
            let now = resumed.elapsed();
            missed = Some(missed.map_or((now, now), |(first, _)| (first, now)));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let gap = missed.map_or(Duration::ZERO, |(first, last)| {
        last - first + Duration::from_millis(20)
    });
    let mut left = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(50), events.next()).await
    {
        if matches!(event, MembershipEvent::Left { .. }) {
            left += 1;
        }
    }
    let mut missing = 0;
    for topic in TOPICS {
        if fanout_hosts(&reader, topic).await != Some(vec![HOST.to_owned()]) {
            missing += 1;
        }
    }
    holder.stop_heartbeat();
    Some((left, gap, missing))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_of_half_the_ttl_loses_no_registration() {
    let stall = TTL / 2;
    let Some((left, _, missing)) = stall_once("stall_half_ttl", stall).await else {
        return;
    };
    let scenario = "etcd single node: stalled (SIGSTOP) for half the TTL (1.5 s of 3 s)";
    record(
        scenario,
        "registrations seen leaving by another instance (of 3)",
        left,
    );
    record(scenario, "registrations missing afterwards (of 3)", missing);
    assert_eq!((left, missing), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_past_the_ttl_is_healed_by_the_next_heartbeat() {
    let stall = TTL + TTL / 2;
    let Some((left, gap, missing)) = stall_once("stall_past_ttl", stall).await else {
        return;
    };
    let scenario = "etcd single node: stalled (SIGSTOP) for 1.5 TTL (4.5 s of 3 s)";
    record(
        scenario,
        "registrations seen leaving by another instance (of 3)",
        left,
    );
    let gap = if gap.is_zero() {
        "under one 20 ms poll (they left and were re-put between two polls)".to_owned()
    } else {
        matchmaker_testkit::figures::format_millis(gap)
    };
    record(scenario, "another instance's lookups missed them for", gap);
    record(scenario, "registrations missing afterwards (of 3)", missing);
    assert_eq!(missing, 0, "the heartbeat did not heal the expired lease");
}
