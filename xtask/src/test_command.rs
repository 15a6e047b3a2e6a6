//! `cargo xtask test` (everything) and `cargo xtask etcd|consul` (one backend's tests).

use crate::project::cargo;
use crate::servers::{self, Server};
use crate::steps::{self, StepResult};

/// fmt check, clippy with `-D warnings`, then every test against real servers; one summary line.
pub fn full() -> Result<(), ()> {
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
    ];
    // --no-fail-fast: one failing test binary must not hide the others' results.
    let mut test = cargo(&["test", "--workspace", "--all-features", "--no-fail-fast"]);
    let servers_note = run_tests_with(&[Server::Etcd, Server::Consul], &mut test, &mut results);
    summarize("xtask test", &results, &servers_note)
}

/// Starts one server and runs its backend's tests, passing `extra` to `cargo test`.
pub fn one_backend(server: Server, extra: &[String]) -> Result<(), ()> {
    let mut test = cargo(&["test", "--package", server.package(), "--all-features"]);
    test.args(extra);
    let mut results = Vec::new();
    let servers_note = run_tests_with(&[server], &mut test, &mut results);
    let command = format!("xtask {}", format!("{server:?}").to_lowercase());
    summarize(&command, &results, &servers_note)
}

/// Starts `wanted`, runs `test` pointed at them, stops them; returns what was started.
fn run_tests_with(
    wanted: &[Server],
    test: &mut std::process::Command,
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
    running.apply_env(test);
    let result = steps::run("tests", test);
    if !result.ok {
        running.print_log_tails();
    }
    results.push(result);
    let note = running.describe();
    drop(running);
    note
}

/// Prints the one-line summary and turns it into the exit outcome.
fn summarize(command: &str, results: &[StepResult], servers_note: &str) -> Result<(), ()> {
    let steps: Vec<String> = results.iter().map(StepResult::describe).collect();
    let ran_tests = results.iter().any(|result| result.name == "tests");
    let all_ok = ran_tests && results.iter().all(|result| result.ok);
    let verdict = if all_ok { "ok" } else { "FAILED" };
    println!(
        "{command}: {verdict}: {} ({servers_note})",
        steps.join(", ")
    );
    if all_ok {
        Ok(())
    } else {
        Err(())
    }
}
