//! Running one step (a child command), timing it, and recording its outcome for the summary.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::interrupt;

/// Outcome of one step, shown in the final summary line.
#[derive(Debug)]
pub struct StepResult {
    /// Short name (`fmt`, `clippy`, `tests`).
    pub name: &'static str,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took.
    pub took: Duration,
}

impl StepResult {
    /// `fmt ok 0.4s` or `clippy FAILED 12.0s`.
    pub fn describe(&self) -> String {
        let verdict = if self.ok { "ok" } else { "FAILED" };
        format!("{} {verdict} {:.1}s", self.name, self.took.as_secs_f64())
    }
}

/// Runs `command` with inherited stdout/stderr (cargo's output reaches the console unchanged).
pub fn run(name: &'static str, command: &mut Command) -> StepResult {
    eprintln!("xtask: {name}: {}", describe_command(command));
    let started = Instant::now();
    let ok = match command.spawn() {
        Ok(mut child) => loop {
            if interrupt::requested() {
                interrupt::forward_to(child.id());
                let _ = child.wait();
                break false;
            }
            match child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                Err(error) => {
                    eprintln!("xtask: {name}: waiting for the command failed: {error}");
                    break false;
                }
            }
        },
        Err(error) => {
            eprintln!("xtask: {name}: cannot start the command: {error}");
            false
        }
    };
    StepResult {
        name,
        ok,
        took: started.elapsed(),
    }
}

fn describe_command(command: &Command) -> String {
    // The full path of the cargo running us is noise: show its file name.
    let program = std::path::Path::new(command.get_program());
    let name = program.file_name().unwrap_or(program.as_os_str());
    let mut words = vec![name.to_string_lossy().into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_reports_a_succeeding_command_as_ok() {
        assert!(run("true", &mut Command::new("true")).ok);
    }

    #[test]
    fn run_reports_a_failing_command_as_failed() {
        assert!(!run("false", &mut Command::new("false")).ok);
    }

    #[test]
    fn run_reports_a_missing_program_as_failed() {
        assert!(!run("missing", &mut Command::new("/nonexistent/xtask-program")).ok);
    }

    #[test]
    fn describe_command_shows_the_program_file_name_and_arguments() {
        let mut command = Command::new("/usr/bin/cargo");
        command.args(["fmt", "--all"]);
        assert_eq!(describe_command(&command), "cargo fmt --all");
    }
}
