//! The `tonic_balance` example: its all-in-one memory demo, called directly, and its
//! cross-process mode against real etcd and Consul (two worker processes, one client
//! process, one worker killed with SIGKILL, the other stopped with SIGTERM).
//!
//! The processes are this test binary run again with `MATCHMAKER_TONIC_BALANCE_CHILD=1`:
//! it then runs the example's own `main` (the example file is included below), so the test
//! needs no separately built example binary. The server tests need
//! `MATCHMAKER_ETCD_ENDPOINTS` / `MATCHMAKER_CONSUL_ADDR` (as `cargo xtask test` sets) and the
//! `etcd` / `consul` features; without a server each is reported as ignored, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`. Each run uses its own key prefix or namespace.

#[path = "../examples/tonic_balance.rs"]
#[allow(dead_code)]
mod tonic_balance;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libtest_mimic::{Arguments, Failed, Trial};
use tonic_balance::{parse_args, run_demo, Role};

/// Set in the environment of the processes this test starts.
const CHILD: &str = "MATCHMAKER_TONIC_BALANCE_CHILD";
const TTL: Duration = Duration::from_secs(2);
/// How late after TTL the client may still call a killed worker: failure detection (etcd
/// scans expiries every 500 ms, Consul's check reaper about 1 s) plus a client round plus a
/// shared, busy machine.
const SLACK: Duration = Duration::from_secs(10);
const PATIENCE: Duration = Duration::from_secs(30);

struct Backend {
    name: &'static str,
    variable: &'static str,
    compiled: bool,
    url: fn(&str, &str) -> String,
}

const BACKENDS: [Backend; 2] = [
    Backend {
        name: "etcd",
        variable: "MATCHMAKER_ETCD_ENDPOINTS",
        compiled: cfg!(feature = "etcd"),
        url: |endpoints, space| format!("etcd://{endpoints}/mm-tonic-{space}?ttl=2"),
    },
    Backend {
        name: "consul",
        variable: "MATCHMAKER_CONSUL_ADDR",
        compiled: cfg!(feature = "consul"),
        url: |address, space| format!("consul://{address}/mm-tonic-{space}?ttl=2s"),
    },
];

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return tonic_balance::main();
    }
    let arguments = Arguments::from_args();
    let required = std::env::var("MATCHMAKER_TEST_REQUIRED").as_deref() == Ok("1");
    let mut trials = vec![
        Trial::test(
            "memory::demo_spreads_calls_forgets_a_killed_worker_and_feeds_a_new_one",
            memory_demo,
        ),
        Trial::test("without_arguments_the_example_runs_the_memory_demo", || {
            let options = parse_args(Vec::new())?;
            check(options.role == Role::Demo, || format!("{options:?}"))?;
            check(options.url.starts_with("memory://"), || options.url.clone())
        }),
        Trial::test(
            "readme_tower_example_is_the_compiled_doc_example",
            readme_example_is_the_doc_example,
        ),
        Trial::test("unknown_role_is_rejected_with_the_usage", || {
            let error = parse_args(["--role", "broker"].map(String::from)).unwrap_err();
            check(error.contains("unknown role \"broker\""), || error.clone())?;
            check(error.contains("usage:"), || error.clone())
        }),
    ];
    for backend in BACKENDS {
        let name = format!(
            "{}::processes_balance_and_stop_calling_a_killed_worker",
            backend.name
        );
        let server = std::env::var(backend.variable)
            .ok()
            .filter(|value| !value.is_empty());
        trials.push(match (backend.compiled, server, required) {
            (false, _, _) => {
                eprintln!(
                    "tonic_balance: {name} ignored: the {} feature is off",
                    backend.name
                );
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
            (true, Some(server), _) => {
                let url = (backend.url)(&server, &unique_space());
                Trial::test(name, move || across_processes(&url))
            }
            (true, None, true) => {
                let variable = backend.variable;
                Trial::test(name, move || {
                    Err(format!("{variable} is not set and MATCHMAKER_TEST_REQUIRED=1").into())
                })
            }
            (true, None, false) => {
                eprintln!(
                    "tonic_balance: {name} ignored: {} is not set",
                    backend.variable
                );
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
        });
    }
    libtest_mimic::run(&arguments, trials).exit_code()
}

fn check(condition: bool, context: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(context().into())
    }
}

fn unique_space() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos)
}

/// The README shows its `matchmaker::tower` example as `rust,ignore` (default builds have no
/// `matchmaker::tower`); the same text is the doc example of the re-export in `src/lib.rs`,
/// compiled with the feature.
fn readme_example_is_the_doc_example() -> Result<(), Failed> {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md"))?;
    let example = readme
        .split("## Feeding an RPC client (tower, tonic)")
        .nth(1)
        .and_then(|section| section.split("```rust,ignore\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .ok_or("README.md: no rust,ignore example in \"Feeding an RPC client\"")?;
    let lib = std::fs::read_to_string(format!("{root}/src/lib.rs"))?;
    let doc = lib
        .split("/// The README's example")
        .nth(1)
        .and_then(|rest| rest.split("/// ```\n").nth(1))
        .ok_or("src/lib.rs: no README example on `pub use matchmaker_tower as tower`")?;
    let doc: Vec<&str> = doc
        .lines()
        .map(|line| {
            line.strip_prefix("/// ")
                .unwrap_or(line.trim_start_matches("///"))
        })
        .collect();
    let doc = doc.join("\n");
    check(doc == example, || {
        format!("README.md:\n{example}\n\nsrc/lib.rs:\n{doc}")
    })
}

fn memory_demo() -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut options = parse_args(["--url", "memory://tonic-balance-test"].map(String::from))?;
    options.ttl = TTL;
    let lines = std::sync::Mutex::new(Vec::new());
    let report = runtime.block_on(run_demo(&options, |line| lines.lock().unwrap().push(line)))?;
    let lines = lines.into_inner().unwrap();
    let context = || format!("{report:#?}\n{}", lines.join("\n"));

    // Calls spread over the three workers, none failed.
    check(report.workers.len() == 3, context)?;
    let first = &report.first_spread;
    check(first.failed == 0, context)?;
    check(
        report
            .workers
            .iter()
            .all(|worker| first.answered.get(worker).copied().unwrap_or(0) >= 10),
        context,
    )?;
    check(
        report.directed_answered_by.as_ref() == Some(&report.workers[1]),
        context,
    )?;

    // Killed without unregistering: dropped within TTL + 1 s, not before its last beat aged.
    let limit = TTL + Duration::from_secs(1);
    check(
        report.removed_after <= limit && report.removed_after >= TTL / 2,
        context,
    )?;
    check(
        report.last_failure_after.is_none_or(|after| after <= limit),
        context,
    )?;
    check(!report.directed_to_killed, context)?;

    // A new worker is called within 1 s of registering.
    check(
        report.newcomer_first_call_after <= Duration::from_secs(1),
        context,
    )?;
    let last = &report.last_spread;
    check(last.failed == 0 && last.answered.len() == 3, context)?;
    check(!last.answered.contains_key(&report.killed), context)?;
    check(last.answered.contains_key(&report.newcomer), context)?;
    check(
        lines
            .iter()
            .any(|line| line.contains("answered its first call")),
        context,
    )
}

/// One process of the example, its stdout read line by line (with arrival times) on a
/// thread; killed when dropped.
struct Process {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    seen: Vec<String>,
}

impl Process {
    fn start(url: &str, role: &str, extra: &[&str]) -> Result<Process, Failed> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(CHILD, "1")
            .args(["--url", url, "--role", role, "--ttl", "2"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Ok(Process {
            child,
            lines,
            seen: Vec::new(),
        })
    }

    /// The next line for which `pick` gives a value, within `PATIENCE`.
    fn until<T>(&mut self, mut pick: impl FnMut(Instant, &str) -> Option<T>) -> Result<T, Failed> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, line) = self.lines.recv_timeout(left).map_err(|_| {
                format!(
                    "no expected line within {PATIENCE:?}; output so far:\n{}",
                    self.seen.join("\n")
                )
            })?;
            self.seen.push(line.clone());
            if let Some(value) = pick(at, &line) {
                return Ok(value);
            }
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client round line: `round 3: 127.0.0.1:40001=5 127.0.0.1:40002=5 failed=0`.
fn round(line: &str) -> Option<(BTreeMap<String, usize>, usize)> {
    let (_, counts) = line.strip_prefix("round ")?.split_once(": ")?;
    let mut answered = BTreeMap::new();
    let mut failed = None;
    for part in counts.split_whitespace() {
        let (name, count) = part.rsplit_once('=')?;
        let count: usize = count.parse().ok()?;
        match name {
            "failed" => failed = Some(count),
            worker => {
                answered.insert(worker.to_owned(), count);
            }
        }
    }
    Some((answered, failed?))
}

fn worker_host(line: &str) -> Option<String> {
    let rest = line.strip_prefix("worker ")?;
    rest.contains(" serves ")
        .then(|| rest.split_whitespace().next().map(str::to_owned))?
}

fn across_processes(url: &str) -> Result<(), Failed> {
    let mut first = Process::start(url, "worker", &[])?;
    let mut second = Process::start(url, "worker", &[])?;
    let first_host = first.until(|_, line| worker_host(line))?;
    let second_host = second.until(|_, line| worker_host(line))?;
    let mut client = Process::start(url, "client", &["--rounds", "400", "--calls", "10"])?;

    // Both workers answer.
    client.until(|_, line| {
        round(line).filter(|(answered, _)| {
            answered.contains_key(&first_host) && answered.contains_key(&second_host)
        })
    })?;

    // SIGKILL: no unregistering, no drain. Within TTL + slack, rounds call only the survivor
    // and nothing fails, and they stay so.
    second.child.kill()?;
    let killed_at = Instant::now();
    let mut streak: Vec<Instant> = Vec::new();
    let stopped_at = client.until(|at, line| {
        let (answered, failed) = round(line)?;
        let clean = failed == 0
            && answered.contains_key(&first_host)
            && !answered.contains_key(&second_host);
        if !clean {
            streak.clear();
            return None;
        }
        streak.push(at);
        (streak.len() == 4).then(|| streak[0])
    })?;
    // When the first of four clean rounds in a row ended.
    let stopped_after = stopped_at.saturating_duration_since(killed_at);
    check(stopped_after <= TTL + SLACK, || {
        format!(
            "still calling {second_host} {stopped_after:?} after SIGKILL:\n{}",
            client.seen.join("\n")
        )
    })?;
    eprintln!("tonic_balance: {url}: no more calls to the killed worker {stopped_after:.1?} after SIGKILL");
    check(
        client
            .seen
            .iter()
            .any(|line| line == &format!("membership -{second_host}")),
        || client.seen.join("\n"),
    )?;

    // SIGTERM: the survivor drains and exits 0, and the client drops it at once.
    let status = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()?;
    check(status.success(), || format!("kill -TERM: {status}"))?;
    first.until(|_, line| line.contains("drained").then_some(()))?;
    let exit = first.child.wait()?;
    check(exit.success(), || {
        format!("worker exit after SIGTERM: {exit}")
    })?;
    let left = format!("membership -{first_host}");
    client.until(|_, line| (line == left).then_some(()))?;
    Ok(())
}
