//! A throwaway Consul dev agent on loopback, and the agent that `cargo xtask` shares with tests.

mod agent;
mod apt_download;
mod discovery;
mod shared_copy;

use std::path::Path;
use std::process::Command;

pub use agent::{ConsulAgent, ConsulOptions};
pub use discovery::binary;

use crate::TestkitError;

/// Environment variable naming the consul binary to use.
pub const BIN_ENV: &str = "MATCHMAKER_CONSUL_BIN";

/// Environment variable holding `127.0.0.1:PORT` of the Consul HTTP API started by `cargo xtask`.
pub const ADDR_ENV: &str = "MATCHMAKER_CONSUL_ADDR";

/// The address of the shared Consul agent (`MATCHMAKER_CONSUL_ADDR`), or None after a skip line.
///
/// # Panics
/// When the variable is unset and `MATCHMAKER_TEST_REQUIRED=1`: the test must fail, not skip.
pub fn shared_addr_or_skip(test_name: &str) -> Option<String> {
    crate::shared_or_skip(ADDR_ENV, "consul agent", test_name)
}

/// The version reported by `consul version` (for example `1.8.7`), if it can be read.
pub fn version(binary: &Path) -> Option<String> {
    let output = Command::new(binary).arg("version").output().ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("Consul v"))
        .map(|version| version.trim().to_string())
}

/// Runs a helper command, returning its stdout, or an error with its status and output.
pub(crate) fn run_command(command: &mut Command) -> Result<String, TestkitError> {
    let line = format!("{command:?}").replace('"', "");
    let output = command
        .output()
        .map_err(|err| TestkitError::io(format!("running {line}"), err))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
    Err(TestkitError::Command {
        command: line,
        detail: format!(
            "{}: {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ),
    })
}
