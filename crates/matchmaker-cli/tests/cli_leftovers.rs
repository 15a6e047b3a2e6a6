//! What `matchmaker` calls leave behind on a server of their own (so the counts are exact):
//! read-only calls leave etcd's `LeaseLeases` and the Consul agent's services unchanged, and
//! one-shot `register`s leave nothing that outlives their TTL on etcd and, on Consul, only
//! their own registration services (critical after the TTL, until Consul's reaper removes
//! them), never one `matchmaker-instance` service each.

mod support;

use std::time::{Duration, Instant};

use matchmaker_testkit::consul::{ConsulAgent, ConsulOptions};
use matchmaker_testkit::etcd::{EtcdOptions, EtcdServer};
use matchmaker_testkit::http;
use support::{outcome, run};

/// Long enough that the first one-shot registration is still alive when the last is made.
const TTL: &str = "5s";
/// TTL plus generous slack: the tests wait for a condition, never assert a tight time.
const EXPIRY_BOUND: Duration = Duration::from_secs(5 + 10);

fn or_skip<T, E: std::fmt::Display>(what: &str, started: Result<T, E>) -> Option<T> {
    match started {
        Ok(server) => Some(server),
        Err(error) if matchmaker_testkit::required() => panic!("{what} could not start: {error}"),
        Err(error) => {
            eprintln!("skipping: {what} could not start: {error}");
            None
        }
    }
}

/// Polls `condition` until it holds or `bound` passes; true when it held.
fn eventually(bound: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the CLI and returns its exit code, showing stderr when it is not one of `expected`.
fn cli(args: &[&str], expected: &[i32]) {
    let (code, stdout, stderr) = outcome(&run(args));
    assert!(
        code.is_some_and(|code| expected.contains(&code)),
        "{args:?} exited {code:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
}

/// The ids of etcd's leases (`LeaseLeases`, through etcd's JSON gateway).
fn etcd_lease_count(endpoint: &str) -> usize {
    let response = http::request(
        http::DEFAULT_TIMEOUT,
        "POST",
        endpoint,
        "/v3/lease/leases",
        &[],
        "{}",
    )
    .expect("etcd answers LeaseLeases");
    assert_eq!(response.status, 200, "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
    body["leases"].as_array().map_or(0, Vec::len)
}

/// The agent's service ids, sorted.
fn consul_service_ids(addr: &str) -> Vec<String> {
    let response = http::get(addr, "/v1/agent/services", &[]).expect("the agent answers");
    assert_eq!(response.status, 200, "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).expect("JSON");
    let mut ids: Vec<String> = body
        .as_object()
        .expect("a map of services")
        .keys()
        .cloned()
        .collect();
    ids.sort();
    ids
}

fn read_only_calls(url: &str) {
    for _ in 0..3 {
        cli(&["--url", url, "queues", "fanout~scheduler"], &[0, 5]);
        cli(&["--url", url, "queues", "scheduler"], &[0, 5]);
        cli(&["--url", url, "list"], &[0, 5]);
    }
}

fn one_shot_registers(url: &str, hosts: &[&str]) {
    for host in hosts {
        cli(
            &["--url", url, "register", "scheduler", host, "--ttl", TTL],
            &[0],
        );
    }
}

fn fanout_hosts(url: &str) -> usize {
    let (code, stdout, stderr) = outcome(&run(&[
        "--url",
        url,
        "--json",
        "queues",
        "fanout~scheduler",
    ]));
    assert!(matches!(code, Some(0 | 5)), "{stderr}");
    let routes: serde_json::Value = serde_json::from_str(&stdout).expect("JSON routes");
    routes.as_array().map_or(0, Vec::len)
}

#[test]
fn etcd_read_only_calls_grant_no_lease_and_one_shot_leases_end_with_their_ttl() {
    let Some(etcd) = or_skip("etcd", EtcdServer::start(EtcdOptions::default())) else {
        return;
    };
    let url = format!("etcd://{}/mm-leftovers", etcd.endpoint());
    let before = etcd_lease_count(&etcd.endpoint());
    read_only_calls(&url);
    assert_eq!(
        etcd_lease_count(&etcd.endpoint()),
        before,
        "lookups granted leases"
    );

    one_shot_registers(&url, &["node-1", "node-2", "node-3"]);
    assert_eq!(fanout_hosts(&url), 3);
    assert!(
        eventually(EXPIRY_BOUND, || etcd_lease_count(&etcd.endpoint())
            == before),
        "one-shot registers left leases past their TTL: {} (before: {before})",
        etcd_lease_count(&etcd.endpoint())
    );
    assert_eq!(fanout_hosts(&url), 0);
}

#[test]
fn consul_read_only_calls_add_no_service_and_one_shot_registers_leave_no_instance_service() {
    let Some(agent) = or_skip(
        "a consul agent",
        ConsulAgent::start(ConsulOptions::default()),
    ) else {
        return;
    };
    let url = format!("consul://{}/mm-leftovers", agent.addr());
    let before = consul_service_ids(&agent.addr());
    read_only_calls(&url);
    assert_eq!(
        consul_service_ids(&agent.addr()),
        before,
        "lookups added services"
    );

    let hosts = ["node-1", "node-2", "node-3"];
    one_shot_registers(&url, &hosts);
    assert_eq!(fanout_hosts(&url), 3);
    let after: Vec<String> = consul_service_ids(&agent.addr())
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(
        after.len(),
        hosts.len(),
        "one service per registration: {after:?}"
    );
    assert!(
        after.iter().all(|id| !id.contains("matchmaker-instance")),
        "a one-shot register left an instance service: {after:?}"
    );
    // Each registration turns critical one TTL after its register: gone from lookups, and
    // reaped by Consul `deregister_critical_after` (its minimum: 1 min) later.
    assert!(
        eventually(EXPIRY_BOUND, || fanout_hosts(&url) == 0),
        "one-shot registrations still served past their TTL"
    );
}
