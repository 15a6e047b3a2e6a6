//! The `brokerless_rpc` example's all-in-one flow on the memory backend, called directly.
#![cfg(feature = "memory")]

#[path = "../examples/brokerless_rpc.rs"]
#[allow(dead_code)]
mod brokerless_rpc;

use std::time::Duration;

use brokerless_rpc::{parse_args, run_demo, Options, Role};

fn options(url: &str) -> Options {
    let mut options = parse_args(["--url".to_owned(), url.to_owned()]).unwrap();
    options.ttl = Duration::from_secs(1);
    options
}

fn sorted(mut hosts: Vec<String>) -> Vec<String> {
    hosts.sort();
    hosts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_casts_calls_and_fans_out_then_forgets_a_killed_worker_after_its_ttl() {
    let options = options("memory://example-rpc-test");
    let lines = std::sync::Mutex::new(Vec::new());
    let report = run_demo(&options, |line| lines.lock().unwrap().push(line))
        .await
        .unwrap();

    assert_eq!(report.workers.len(), 3);
    assert_eq!(report.cast_answered_by.len(), 3);
    assert!(report
        .cast_answered_by
        .iter()
        .all(|worker| report.workers.contains(worker)));
    assert_eq!(report.call_answered_by.as_ref(), Some(&report.workers[1]));
    assert_eq!(
        sorted(report.fanout_answered_by.clone()),
        sorted(report.workers.clone())
    );

    // Killed without unregistering: still routed to until the TTL runs out, then never.
    assert!(report.routed_right_after_kill.contains(&report.killed));
    assert!(!report.routed_after_ttl.contains(&report.killed));
    assert_eq!(report.routed_after_ttl.len(), 2);
    // Never forgotten before the TTL minus one heartbeat interval (the last beat's age).
    assert!(
        report.forgotten_after >= Duration::from_millis(600),
        "{report:?}"
    );

    let lines = lines.into_inner().unwrap();
    assert!(
        lines.iter().any(|line| line.contains("UNREACHABLE")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.contains("no longer routes to")),
        "{lines:#?}"
    );
}

#[test]
fn without_arguments_the_example_runs_the_memory_demo() {
    let options = parse_args(Vec::new()).unwrap();
    assert_eq!(options.role, Role::Demo);
    assert!(options.url.starts_with("memory://"));
}

#[test]
fn worker_role_takes_host_and_port() {
    let args = [
        "--url",
        "etcd://127.0.0.1:2379",
        "--role",
        "worker",
        "--host",
        "node1",
        "--port",
        "7001",
    ];
    let options = parse_args(args.map(String::from)).unwrap();
    assert_eq!(options.role, Role::Worker);
    assert_eq!((options.host.as_str(), options.port), ("node1", 7001));
}

#[test]
fn unknown_role_is_rejected_with_the_usage() {
    let error = parse_args(["--role", "broker"].map(String::from)).unwrap_err();
    assert!(error.contains("unknown role \"broker\""), "{error}");
    assert!(error.contains("usage:"), "{error}");
}
