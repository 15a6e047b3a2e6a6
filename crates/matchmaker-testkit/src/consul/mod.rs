//! A throwaway Consul dev agent on loopback, and the agent that `cargo xtask` shares with tests.

mod agent;
mod cluster;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

pub use agent::{ConsulAgent, ConsulOptions};
pub use cluster::ConsulCluster;

use crate::provision::{BinarySpec, DebianBinary, Provisioned};
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

/// Where consul comes from: Debian bookworm has no consul package, so bullseye's 1.8.7.
const CONSUL: BinarySpec = BinarySpec {
    name: "consul",
    env: BIN_ENV,
    version,
    debian: Some(DebianBinary {
        suite: "bullseye",
        package: "consul",
        binary: "usr/bin/consul",
    }),
    shared_copy: true,
};

/// The consul found by an earlier call in this process (finding it may download 15 MB).
static FOUND: Mutex<Option<Provisioned>> = Mutex::new(None);

/// Finds consul, trying in order: `MATCHMAKER_CONSUL_BIN`; `consul` on `PATH`; Debian bullseye's
/// `consul` package fetched with a private APT configuration under `target/tools/consul-debian`
/// (reused once extracted); `../shared/tools/consul_*.deb`, verified against the `SHA256SUMS`
/// beside it. A candidate must report its version. The error lists why each step failed.
pub fn provision() -> Result<Provisioned, TestkitError> {
    CONSUL.find_once(&FOUND)
}

/// The path of the consul binary [`provision`] finds.
pub fn binary() -> Result<PathBuf, TestkitError> {
    provision().map(|tool| tool.path)
}

/// Ok when the agent at `addr` knows the cluster's leader, else what it answered.
pub(crate) fn check_leader(addr: &str) -> Result<(), String> {
    let leader = crate::http::get(addr, "/v1/status/leader", &[])?;
    let leader_addr = leader.body.trim().trim_matches('"');
    if leader.status != 200 || leader_addr.is_empty() {
        return Err(format!(
            "no leader yet ({} {})",
            leader.status,
            leader.body.trim()
        ));
    }
    Ok(())
}
