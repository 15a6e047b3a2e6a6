//! The `matchmaker` binary against real etcd and Consul servers.
//!
//! Needs `MATCHMAKER_ETCD_ENDPOINTS` / `MATCHMAKER_CONSUL_ADDR` (as `cargo xtask test` sets).
//! Without them each test is reported as ignored, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`. Every test uses its own key prefix or namespace.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use support::{outcome, run, run_with, Running, PATIENCE};

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

const SCENARIOS: [(&str, Scenario); 10] = [
    (
        "register_meta_is_listed_in_json_and_wide",
        register_meta_is_listed,
    ),
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
    (
        "watch_prints_the_present_members_first_then_changes",
        watch_prints_present_members_first,
    ),
    (
        "list_is_topic_host_alive_and_wide_adds_ttl_left_and_instance",
        list_wide_adds_ttl_left_and_instance,
    ),
    ("an_empty_list_exits_0", empty_list_exits_0),
    (
        "the_registry_is_found_through_etcdctl_endpoints_or_consul_http_addr",
        registry_from_the_tools_variables,
    ),
    (
        "ttls_are_bare_seconds_or_durations_in_the_flag_and_the_url",
        ttl_forms_in_flag_and_url,
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
    check(code == Some(0), || {
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

fn register_meta_is_listed(url: &str) -> Result<(), Failed> {
    let topic = "tagged";
    let (code, _, stderr) = outcome(&run(&[
        "--url",
        url,
        "register",
        topic,
        "node-m",
        "--ttl",
        "30s",
        "--meta",
        "zone=eu-1b",
        "--meta",
        "version=1.4",
    ]));
    check(code == Some(0), || {
        format!("register exited {code:?}: {stderr}")
    })?;
    let (code, stdout, stderr) = outcome(&run(&["--url", url, "-o", "json", "list", topic]));
    check(code == Some(0), || {
        format!("list exited {code:?}: {stderr}")
    })?;
    let listed: Value = serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))?;
    check(
        listed[0]["metadata"] == serde_json::json!({"zone": "eu-1b", "version": "1.4"}),
        || format!("list -o json shows {listed}"),
    )?;
    let (_, stdout, _) = outcome(&run(&["--url", url, "-o", "wide", "list", topic]));
    check(stdout.contains("version=1.4,zone=eu-1b"), || stdout.clone())?;
    let (code, _, stderr) = outcome(&run(&[
        "--url",
        url,
        "register",
        topic,
        "node-n",
        "--meta",
        "mm_topic=x",
    ]));
    check(code == Some(3), || {
        format!("reserved key exited {code:?}: {stderr}")
    })?;
    check(stderr.contains("--meta"), || stderr.clone())?;
    let (code, _, _) = outcome(&run(&["--url", url, "expire", topic, "node-m"]));
    check(code == Some(0), || format!("expire exited {code:?}"))
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

/// Registers `host` for `topic` once (no holder), with `--ttl 30s`; `expire` cleans it up.
fn register_once(url: &str, topic: &str, host: &str) -> Result<(), Failed> {
    let (code, _, stderr) = outcome(&run(&[
        "--url", url, "register", topic, host, "--ttl", "30s",
    ]));
    check(code == Some(0), || {
        format!("register exited {code:?}: {stderr}")
    })
}

/// Best-effort cleanup of a registration `register_once` made.
fn expire(url: &str, topic: &str, host: &str) {
    let _ = run(&["--url", url, "expire", topic, host]);
}

fn watch_prints_present_members_first(url: &str) -> Result<(), Failed> {
    let topic = "snapshot";
    let mut holder = start_holder(url, topic, "node-p1");

    let mut json = Running::start(&["--url", url, "--json", "watch", topic]);
    let line = json.wait_stdout("\"present\"", PATIENCE);
    let event: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
    let mut keys: Vec<&str> = event
        .as_object()
        .ok_or("not an object")?
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    check(
        keys == ["event", "host", "metadata", "time", "topic"],
        || format!("present line has {keys:?}"),
    )?;
    check(
        event["host"] == "node-p1" && event["topic"] == topic,
        || format!("unexpected present line {event}"),
    )?;
    json.wait_stderr("watching snapshot", PATIENCE);

    let mut table = Running::start(&["--url", url, "watch", topic]);
    let line = table.wait_stdout(" present ", PATIENCE);
    check(line.ends_with(" present snapshot node-p1"), || {
        format!("table line {line:?}")
    })?;
    table.wait_stderr("watching snapshot", PATIENCE);

    let mut changes_only =
        Running::start(&["--url", url, "--json", "watch", "--no-snapshot", topic]);
    changes_only.wait_stderr("watching snapshot", PATIENCE);
    register_once(url, topic, "node-p2")?;
    let joined = changes_only.wait_stdout("node-p2", LEAVE_WITHIN);
    json.wait_stdout("node-p2", LEAVE_WITHIN);
    expire(url, topic, "node-p2");
    holder.signal("TERM");
    holder.wait_exit(PATIENCE);
    for watcher in [&mut json, &mut table, &mut changes_only] {
        watcher.signal("TERM");
        watcher.wait_exit(PATIENCE);
    }
    check(joined.contains("\"joined\""), || {
        format!("first change {joined}")
    })?;
    check(
        !changes_only
            .stdout_seen
            .iter()
            .any(|line| line.contains("\"present\"")),
        || format!("--no-snapshot printed {:?}", changes_only.stdout_seen),
    )
}

fn list_wide_adds_ttl_left_and_instance(url: &str) -> Result<(), Failed> {
    let topic = "wide";
    register_once(url, topic, "node-w")?;
    let outcome_of = |format: &[&str]| {
        let mut args = vec!["--url", url];
        args.extend_from_slice(format);
        args.extend(["list", topic]);
        outcome(&run(&args))
    };
    let (code, table, stderr) = outcome_of(&[]);
    let (wide_code, wide, wide_stderr) = outcome_of(&["-o", "wide"]);
    let (json_code, json, _) = outcome_of(&["-o", "json"]);
    expire(url, topic, "node-w");
    check(
        code == Some(0) && wide_code == Some(0) && json_code == Some(0),
        || format!("list exited {code:?}/{wide_code:?}/{json_code:?}: {stderr}{wide_stderr}"),
    )?;
    check(table.lines().next() == Some("TOPIC  HOST    ALIVE"), || {
        format!("table:\n{table}")
    })?;
    check(table.contains("wide   node-w  yes"), || {
        format!("table:\n{table}")
    })?;
    let header = wide.lines().next().unwrap_or_default();
    let columns: Vec<&str> = header
        .split("  ")
        .filter(|c| !c.is_empty())
        .map(str::trim)
        .collect();
    check(
        columns == ["TOPIC", "HOST", "ALIVE", "TTL LEFT", "INSTANCE", "METADATA"],
        || format!("wide:\n{wide}"),
    )?;
    let row: Vec<&str> = wide
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // Consul knows no TTL left (its checks do not say), etcd does.
    let ttl_left_ok = if url.starts_with("etcd://") {
        row.get(3).is_some_and(|ttl| ttl.ends_with('s'))
    } else {
        row.get(3) == Some(&"-")
    };
    check(row.len() == 6 && ttl_left_ok && row[4] != "-", || {
        format!("wide row {row:?}")
    })?;
    let listed: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    let entry = &listed[0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .ok_or("not an object")?
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    check(
        keys == [
            "alive",
            "host",
            "instance",
            "metadata",
            "topic",
            "ttl_left_ms",
        ],
        || format!("json entry {entry}"),
    )
}

fn empty_list_exits_0(url: &str) -> Result<(), Failed> {
    let (code, stdout, stderr) = outcome(&run(&["--url", url, "--json", "list", "nobody"]));
    check(code == Some(0) && stdout.trim() == "[]", || {
        format!("list exited {code:?}: {stdout}{stderr}")
    })?;
    let (code, stdout, stderr) = outcome(&run(&["--url", url, "list"]));
    check(code == Some(0) && stdout.is_empty(), || {
        format!("list exited {code:?}: {stdout}{stderr}")
    })?;
    check(stderr.contains("nothing is registered on"), || {
        stderr.clone()
    })?;
    // A lookup that finds nobody is still "not found".
    let (code, _, _) = outcome(&run(&["--url", url, "queues", "fanout~nobody"]));
    check(code == Some(5), || format!("queues exited {code:?}"))
}

/// `etcd://a,b/space` as `ETCDCTL_ENDPOINTS=http://a,http://b`, `consul://a/space` as
/// `CONSUL_HTTP_ADDR=http://a`: those URLs use the backend's default prefix or namespace.
fn tools_variable(url: &str) -> (&'static str, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let hosts = rest.split('/').next().unwrap_or(rest);
    let with_scheme: Vec<String> = hosts
        .split(',')
        .map(|host| format!("http://{host}"))
        .collect();
    if url.starts_with("etcd://") {
        ("ETCDCTL_ENDPOINTS", with_scheme.join(","))
    } else {
        ("CONSUL_HTTP_ADDR", with_scheme.join(","))
    }
}

fn registry_from_the_tools_variables(url: &str) -> Result<(), Failed> {
    let (variable, value) = tools_variable(url);
    let vars = [(variable, value.as_str())];
    // The default prefix or namespace is shared: a topic of this run's own keeps it apart.
    let topic = format!("env-{}", url.rsplit('/').next().unwrap_or("x"));
    let (code, stdout, stderr) = outcome(&run_with(
        &["register", &topic, "node-e", "--ttl", "30s"],
        &vars,
    ));
    check(code == Some(0), || {
        format!("register with {variable} exited {code:?}: {stderr}")
    })?;
    let scheme = backend_of(url);
    check(stdout.contains(&format!(" on {scheme}://")), || {
        stdout.clone()
    })?;
    let (code, listed, stderr) = outcome(&run_with(&["--json", "list", &topic], &vars));
    let (expire_code, _, expire_stderr) = outcome(&run_with(&["expire", &topic, "node-e"], &vars));
    check(code == Some(0), || {
        format!("list exited {code:?}: {stderr}")
    })?;
    check(listed.contains("\"node-e\""), || {
        format!("list shows {listed}")
    })?;
    check(expire_code == Some(0), || {
        format!("expire exited {expire_code:?}: {expire_stderr}")
    })
}

fn ttl_forms_in_flag_and_url(url: &str) -> Result<(), Failed> {
    let topic = "ttl-forms";
    // A bare number in the URL is seconds on both backends (Consul used to want a unit).
    let with_ttl = format!("{url}?ttl=30");
    let (code, stdout, stderr) = outcome(&run(&[
        "--url", &with_ttl, "--json", "register", topic, "node-u",
    ]));
    expire(url, topic, "node-u");
    check(code == Some(0), || {
        format!("register on {with_ttl} exited {code:?}: {stderr}")
    })?;
    let report: Value = serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))?;
    check(report["ttl_ms"] == 30_000, || format!("reported {report}"))?;
    // Sub-second TTLs: Consul takes them, etcd leases are whole seconds (exit 3, TTL hint).
    let (code, stdout, stderr) = outcome(&run(&[
        "--url", url, "--json", "register", topic, "node-m", "--ttl", "2500ms",
    ]));
    expire(url, topic, "node-m");
    if url.starts_with("etcd://") {
        check(code == Some(3), || {
            format!("etcd took --ttl 2500ms: {stderr}")
        })?;
        check(stderr.contains("hint: set the TTL with --ttl"), || {
            stderr.clone()
        })
    } else {
        check(code == Some(0), || format!("consul --ttl 2500ms: {stderr}"))?;
        let report: Value = serde_json::from_str(&stdout).map_err(|e| format!("{e}: {stdout}"))?;
        check(report["ttl_ms"] == 2500, || format!("reported {report}"))
    }
}
