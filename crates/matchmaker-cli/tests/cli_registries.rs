//! The `matchmaker` binary against real etcd and Consul servers.
//!
//! Needs `MATCHMAKER_ETCD_ENDPOINTS` / `MATCHMAKER_CONSUL_ADDR` (as `cargo xtask test` sets).
//! Without them each test is reported as ignored, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`. Every test uses its own key prefix or namespace.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use support::{outcome, run, Running, PATIENCE};

/// The TTL given to `register`; the tests wait TTL + generous slack, never a tight bound.
const TTL: &str = "2s";
const LEAVE_WITHIN: Duration = Duration::from_secs(2 + 20);

struct Backend {
    name: &'static str,
    variable: &'static str,
    url: fn(&str, &str) -> String,
}

const BACKENDS: [Backend; 2] = [
    Backend {
        name: "etcd",
        variable: "MATCHMAKER_ETCD_ENDPOINTS",
        url: |endpoints, space| format!("etcd://{endpoints}/mm-cli-{space}"),
    },
    Backend {
        name: "consul",
        variable: "MATCHMAKER_CONSUL_ADDR",
        url: |address, space| format!("consul://{address}/mm-cli-{space}"),
    },
];

type Scenario = fn(&str) -> Result<(), Failed>;

const SCENARIOS: [(&str, Scenario); 4] = [
    (
        "killed_holder_is_seen_leaving_by_list_and_watch",
        killed_holder_leaves,
    ),
    (
        "stopped_holder_leaves_past_its_ttl_and_returns_when_resumed",
        stopped_holder_leaves_and_returns,
    ),
    (
        "register_hold_unregisters_on_sigterm",
        hold_unregisters_on_sigterm,
    ),
    (
        "expire_removes_a_registration_of_another_process",
        expire_removes_registration,
    ),
];

fn main() {
    let arguments = Arguments::from_args();
    let required = std::env::var("MATCHMAKER_TEST_REQUIRED").as_deref() == Ok("1");
    let mut trials = Vec::new();
    for backend in BACKENDS {
        let server = std::env::var(backend.variable)
            .ok()
            .filter(|v| !v.is_empty());
        for (scenario_name, scenario) in SCENARIOS {
            let name = format!("{}::{scenario_name}", backend.name);
            let trial = match (&server, required) {
                (Some(server), _) => {
                    let server = server.split(',').collect::<Vec<_>>().join(",");
                    let url_of = backend.url;
                    Trial::test(name, move || scenario(&url_of(&server, &unique_space())))
                }
                (None, true) => {
                    let variable = backend.variable;
                    Trial::test(name, move || {
                        Err(format!("{variable} is not set and MATCHMAKER_TEST_REQUIRED=1").into())
                    })
                }
                (None, false) => Trial::test(name, || Ok(())).with_ignored_flag(true),
            };
            trials.push(trial);
        }
        if server.is_none() && !required {
            eprintln!(
                "cli_registries: {} tests ignored: {} is not set",
                backend.name, backend.variable
            );
        }
    }
    libtest_mimic::run(&arguments, trials).exit();
}

fn unique_space() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos)
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

/// The hosts `list TOPIC --json` reports alive.
fn alive_hosts(url: &str, topic: &str) -> Result<Vec<String>, Failed> {
    let (code, stdout, stderr) = outcome(&run(&["--url", url, "--json", "list", topic]));
    check(code == Some(0) || code == Some(5), || {
        format!("list exited {code:?}: {stderr}")
    })?;
    let listed: Value = serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))?;
    Ok(listed
        .as_array()
        .ok_or("list --json is not an array")?
        .iter()
        .filter(|entry| entry["alive"] == true)
        .filter_map(|entry| entry["host"].as_str().map(str::to_owned))
        .collect())
}

/// Polls `list` until `host` is no longer alive (bounded).
fn wait_until_gone(url: &str, topic: &str, host: &str) -> Result<(), Failed> {
    let deadline = Instant::now() + LEAVE_WITHIN;
    loop {
        if !alive_hosts(url, topic)?.iter().any(|alive| alive == host) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{host} still alive after {LEAVE_WITHIN:?}").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start_holder(url: &str, topic: &str, host: &str) -> Running {
    let mut holder = Running::start(&[
        "--url", url, "register", topic, host, "--ttl", TTL, "--hold",
    ]);
    holder.wait_stderr("holding: heartbeating every", PATIENCE);
    holder
}

fn killed_holder_leaves(url: &str) -> Result<(), Failed> {
    let topic = "scheduler";
    let mut holder = start_holder(url, topic, "node-a");
    let alive = alive_hosts(url, topic)?;
    check(alive == ["node-a"], || format!("list shows {alive:?}"))?;

    let mut watcher = Running::start(&["--url", url, "--json", "watch", topic]);
    watcher.wait_stderr("watching scheduler", PATIENCE);
    let killed = Instant::now();
    holder.signal("KILL");
    holder.wait_exit(PATIENCE);

    let line = watcher.wait_stdout("\"left\"", LEAVE_WITHIN);
    matchmaker_testkit::figures::record_duration(
        &format!("{}: holder SIGKILLed (TTL {TTL})", backend_of(url)),
        "another process's watch saw it leave after",
        killed.elapsed(),
    );
    let event: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
    check(event["host"] == "node-a" && event["topic"] == topic, || {
        format!("unexpected event {event}")
    })?;
    wait_until_gone(url, topic, "node-a")?;

    watcher.signal("TERM");
    let code = watcher.wait_exit(PATIENCE);
    check(code == Some(0), || format!("watch exited {code:?}"))
}

/// SIGSTOP past the TTL: the holder leaves everyone's view; SIGCONT: its next heartbeat
/// re-creates the registration and it is back (the heartbeat heals a lost lease or record).
fn stopped_holder_leaves_and_returns(url: &str) -> Result<(), Failed> {
    let topic = "paused";
    let scenario = format!(
        "{}: holder SIGSTOPped past its TTL, then SIGCONT",
        backend_of(url)
    );
    let mut holder = start_holder(url, topic, "node-p");
    let mut watcher = Running::start(&["--url", url, "--json", "watch", topic]);
    watcher.wait_stderr("watching paused", PATIENCE);

    let stopped = Instant::now();
    holder.signal("STOP");
    watcher.wait_stdout("\"left\"", LEAVE_WITHIN);
    matchmaker_testkit::figures::record_duration(
        &scenario,
        "left the other processes' view after",
        stopped.elapsed(),
    );
    wait_until_gone(url, topic, "node-p")?;

    let resumed = Instant::now();
    holder.signal("CONT");
    watcher.wait_stdout("\"joined\"", LEAVE_WITHIN);
    matchmaker_testkit::figures::record_duration(
        &scenario,
        "back in the other processes' view after SIGCONT",
        resumed.elapsed(),
    );
    let alive = alive_hosts(url, topic)?;
    check(alive == ["node-p"], || format!("list shows {alive:?}"))?;

    holder.signal("TERM");
    let code = holder.wait_exit(PATIENCE);
    check(code == Some(0), || {
        format!("register --hold exited {code:?}")
    })?;
    watcher.signal("TERM");
    let code = watcher.wait_exit(PATIENCE);
    check(code == Some(0), || format!("watch exited {code:?}"))
}

/// `etcd` or `consul`, from a registry URL.
fn backend_of(url: &str) -> &str {
    url.split("://").next().unwrap_or(url)
}

fn hold_unregisters_on_sigterm(url: &str) -> Result<(), Failed> {
    let topic = "conductor";
    let mut holder = start_holder(url, topic, "node-b");
    holder.signal("TERM");
    let code = holder.wait_exit(PATIENCE);
    check(code == Some(0), || {
        format!("register --hold exited {code:?}")
    })?;
    check(
        holder
            .stdout_seen
            .iter()
            .any(|line| line.contains("unregistered node-b")),
        || format!("no unregistered line: {:?}", holder.stdout_seen),
    )?;
    let alive = alive_hosts(url, topic)?;
    check(alive.is_empty(), || {
        format!("still listed alive: {alive:?}")
    })
}

fn expire_removes_registration(url: &str) -> Result<(), Failed> {
    let topic = "compute";
    // Without --hold the registration outlives the process until its TTL.
    let (code, _, stderr) = outcome(&run(&[
        "--url", url, "register", topic, "node-c", "--ttl", "30s",
    ]));
    check(code == Some(0), || {
        format!("register exited {code:?}: {stderr}")
    })?;
    let alive = alive_hosts(url, topic)?;
    check(alive == ["node-c"], || format!("list shows {alive:?}"))?;

    let (code, stdout, stderr) = outcome(&run(&["--url", url, "expire", topic, "node-c"]));
    check(code == Some(0), || {
        format!("expire exited {code:?}: {stderr}")
    })?;
    check(stdout.contains("expired node-c for compute"), || {
        stdout.clone()
    })?;
    wait_until_gone(url, topic, "node-c")?;

    let (code, _, _) = outcome(&run(&["--url", url, "expire", topic, "node-c"]));
    check(code == Some(5), || format!("second expire exited {code:?}"))
}
