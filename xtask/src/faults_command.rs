//! `cargo xtask faults`: the fault suite against real servers, then the figures it measured.
//!
//! The suite is the `matchmaker-faults` crate (a 3-member etcd cluster losing its leader and
//! its quorum, a Consul cluster losing a client agent, the model-based concurrency test, the
//! key-validation fuzz) plus the backends' own fault tests (etcd killed and restarted, leases
//! revoked and keys deleted from outside, a Consul agent restarted, holders killed or stopped).
//! Fault tests kill servers, so the fault crate runs one test at a time. `cargo xtask test`
//! runs the fault crate as its last step; the backends' fault tests are part of its tests step.

use std::process::Command;

use matchmaker_testkit::figures;

use crate::project::cargo;

/// The backends' own fault tests: (package, test targets).
const BACKEND_FAULT_TESTS: [(&str, &[&str]); 3] = [
    (
        "matchmaker-etcd",
        &["etcd_restart", "self_healing", "cluster", "leases"],
    ),
    ("matchmaker-consul", &["agent_restart", "heartbeat_stop"]),
    (
        "matchmaker-cli",
        &["cli_registries", "cli_cluster", "cli_leftovers"],
    ),
];

/// Key-validation fuzz cases when `PROPTEST_CASES` is not set: about a minute on CI's 2 cores.
const FUZZ_CASES: &str = "20000";

/// `cargo test -p matchmaker-faults`, one test at a time.
pub fn fault_crate_command() -> Command {
    let mut command = cargo(&[
        "test",
        "--package",
        "matchmaker-faults",
        "--no-fail-fast",
        "--",
        "--test-threads=1",
    ]);
    if std::env::var_os("MATCHMAKER_FUZZ_CASES").is_none() {
        command.env("MATCHMAKER_FUZZ_CASES", FUZZ_CASES);
    }
    command
}

/// One `cargo test` over the backends' fault tests.
pub fn backend_faults_command() -> Command {
    let mut args = vec!["test", "--all-features", "--no-fail-fast"];
    for (package, tests) in BACKEND_FAULT_TESTS {
        args.extend(["--package", package]);
        for test in tests {
            args.extend(["--test", test]);
        }
    }
    cargo(&args)
}

/// Starts afresh: figures of an earlier run must not be printed as this run's.
pub fn clear_figures() {
    figures::clear();
}

/// Prints every figure recorded in this run, grouped by scenario (in the order first seen).
pub fn print_figures() {
    let all = figures::read_all();
    if all.is_empty() {
        println!("xtask: no fault figures were recorded");
        return;
    }
    println!("\nfault figures ({}):", figures::file().display());
    let mut scenarios: Vec<&str> = Vec::new();
    for figure in &all {
        if !scenarios.contains(&figure.scenario.as_str()) {
            scenarios.push(&figure.scenario);
        }
    }
    for scenario in scenarios {
        println!("  {scenario}");
        for figure in all.iter().filter(|figure| figure.scenario == scenario) {
            println!("    {}: {}", figure.figure, figure.value);
        }
    }
}
