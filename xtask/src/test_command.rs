//! `cargo xtask test` (everything), `cargo xtask etcd|consul` (one backend's tests) and
//! `cargo xtask faults` (the fault suite).

use crate::faults_command;
use crate::project::cargo;
use crate::servers::{self, Server};
use crate::steps::{self, StepResult};

/// fmt check, clippy and rustdoc with `-D warnings`, then every test against real servers; one
/// summary line.
pub fn full() -> Result<(), ()> {
    crate::tools::report(&[Server::Etcd, Server::Consul]);
    let mut doc = cargo(&["doc", "--workspace", "--no-deps", "--all-features"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    let mut results = vec![
        steps::run("fmt", &mut cargo(&["fmt", "--all", "--", "--check"])),
        steps::run(
            "clippy",
            &mut cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        ),
        steps::run("doc", &mut doc),
    ];
    // --no-fail-fast: one failing test binary must not hide the others' results. The fault
    // crate runs after, alone and one test at a time: its tests kill servers.
    faults_command::clear_figures();
    let mut test = cargo(&[
        "test",
        "--workspace",
        "--all-features",
        "--no-fail-fast",
        "--exclude",
        "matchmaker-faults",
    ]);
    let mut faults = faults_command::fault_crate_command();
    let servers_note = run_tests_with(
        &[Server::Etcd, Server::Consul],
        &mut [("tests", &mut test), ("faults", &mut faults)],
        &mut results,
    );
    faults_command::print_figures();
    summarize("xtask test", &results, &servers_note)
}

/// `cargo xtask faults`: the fault crate and the backends' fault tests, then their figures.
pub fn faults() -> Result<(), ()> {
    crate::tools::report(&[Server::Etcd, Server::Consul]);
    faults_command::clear_figures();
    let mut backends = faults_command::backend_faults_command();
    let mut faults = faults_command::fault_crate_command();
    let mut results = Vec::new();
    let servers_note = run_tests_with(
        &[Server::Etcd, Server::Consul],
        &mut [("tests", &mut backends), ("faults", &mut faults)],
        &mut results,
    );
    faults_command::print_figures();
    summarize("xtask faults", &results, &servers_note)
}

/// Starts one server and runs its backend's tests, passing `extra` to `cargo test`.
pub fn one_backend(server: Server, extra: &[String]) -> Result<(), ()> {
    crate::tools::report(&[server]);
    let mut test = cargo(&["test", "--package", server.package(), "--all-features"]);
    test.args(extra);
    let mut results = Vec::new();
    let servers_note = run_tests_with(&[server], &mut [("tests", &mut test)], &mut results);
    let command = format!("xtask {server}");
    summarize(&command, &results, &servers_note)
}

/// Starts `wanted`, runs each named step pointed at them, stops them; returns what was started.
fn run_tests_with(
    wanted: &[Server],
    steps: &mut [(&'static str, &mut std::process::Command)],
    results: &mut Vec<StepResult>,
) -> String {
    if crate::interrupt::requested() {
        return "interrupted".to_string();
    }
    let running = match servers::start(wanted) {
        Ok(running) => running,
        Err(why) => {
            eprintln!("xtask: {why}");
            return "servers FAILED to start, tests not run".to_string();
        }
    };
    for (name, command) in steps.iter_mut() {
        if crate::interrupt::requested() {
            break;
        }
        running.apply_env(command);
        let result = steps::run(name, command);
        if !result.ok {
            running.print_log_tails();
        }
        results.push(result);
    }
    let note = running.describe();
    drop(running);
    note
}

/// Prints the one-line summary and turns it into the exit outcome.
fn summarize(command: &str, results: &[StepResult], servers_note: &str) -> Result<(), ()> {
    let (line, all_ok) = summary_line(command, results, servers_note);
    println!("{line}");
    if all_ok {
        Ok(())
    } else {
        Err(())
    }
}

/// `xtask test: ok: fmt ok 0.2s, clippy ok 30.1s, tests ok 50.0s (etcd ... at ..., consul ...)`,
/// and whether everything passed (a run whose tests did not run did not pass).
fn summary_line(command: &str, results: &[StepResult], servers_note: &str) -> (String, bool) {
    let ran_tests = results.iter().any(|result| result.name == "tests");
    let all_ok = ran_tests && results.iter().all(|result| result.ok);
    let mut steps: Vec<String> = results.iter().map(StepResult::describe).collect();
    if !ran_tests {
        steps.push("tests not run".to_string());
    }
    let verdict = if all_ok { "ok" } else { "FAILED" };
    let line = format!(
        "{command}: {verdict}: {} ({servers_note})",
        steps.join(", ")
    );
    (line, all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn step(name: &'static str, ok: bool) -> StepResult {
        StepResult {
            name,
            ok,
            took: Duration::from_millis(1500),
        }
    }

    #[test]
    fn summary_of_passing_steps_is_ok_and_names_the_servers() {
        let results = [step("fmt", true), step("tests", true)];
        let (line, ok) = summary_line("xtask test", &results, "etcd 3.4.23 at 127.0.0.1:1");
        assert!(ok);
        assert_eq!(
            line,
            "xtask test: ok: fmt ok 1.5s, tests ok 1.5s (etcd 3.4.23 at 127.0.0.1:1)"
        );
    }

    #[test]
    fn summary_names_the_failed_step() {
        let results = [
            step("fmt", true),
            step("clippy", false),
            step("tests", true),
        ];
        let (line, ok) = summary_line("xtask test", &results, "");
        assert!(!ok);
        assert!(line.starts_with("xtask test: FAILED:"), "{line}");
        assert!(line.contains("clippy FAILED 1.5s"), "{line}");
    }

    #[test]
    fn summary_without_a_test_run_is_a_failure() {
        let (line, ok) = summary_line("xtask etcd", &[], "servers FAILED to start");
        assert!(!ok);
        assert!(line.contains("tests not run"), "{line}");
    }
}
