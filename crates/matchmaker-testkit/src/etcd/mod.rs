//! Throwaway etcd on loopback (one member, or a cluster), and the etcd `cargo xtask` shares with tests.

mod cluster;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use cluster::EtcdCluster;
pub use server::{EtcdOptions, EtcdServer, TlsFiles};

use crate::provision::{BinarySpec, DebianBinary, Provisioned};
use crate::TestkitError;

/// Environment variable naming the etcd binary to use.
pub const BIN_ENV: &str = "MATCHMAKER_ETCD_BIN";

/// Environment variable holding the comma-separated endpoints of the etcd started by `cargo xtask`.
pub const ENDPOINTS_ENV: &str = "MATCHMAKER_ETCD_ENDPOINTS";

/// Where etcd comes from: Debian bookworm's `etcd-server` is etcd 3.4.23.
const ETCD: BinarySpec = BinarySpec {
    name: "etcd",
    env: BIN_ENV,
    version,
    debian: Some(DebianBinary {
        suite: "bookworm",
        package: "etcd-server",
        binary: "usr/bin/etcd",
    }),
    shared_copy: false,
};

/// The etcd found by an earlier call in this process (finding it may download a package).
static FOUND: Mutex<Option<Provisioned>> = Mutex::new(None);

/// Finds etcd, trying in order: `MATCHMAKER_ETCD_BIN`; `etcd` on `PATH`; Debian bookworm's
/// `etcd-server` package fetched with a private APT configuration under
/// `target/tools/etcd-debian` (reused once extracted). A candidate must report its version. The
/// error lists why each step failed.
pub fn provision() -> Result<Provisioned, TestkitError> {
    ETCD.find_once(&FOUND)
}

/// The path of the etcd binary [`provision`] finds.
pub fn binary() -> Result<PathBuf, TestkitError> {
    provision().map(|tool| tool.path)
}

/// Ok when etcd at `endpoint` (plain HTTP) answers `/health` with `"health":"true"`, else what
/// it answered.
pub(crate) fn check_health(endpoint: &str) -> Result<(), String> {
    let response = crate::http::get(endpoint, "/health", &[])?;
    if response.status == 200 && response.body.contains("\"health\":\"true\"") {
        Ok(())
    } else {
        Err(format!(
            "/health answered {} {}",
            response.status,
            response.body.trim()
        ))
    }
}

/// The version reported by `etcd --version` (for example `3.4.23`), if it can be read.
pub fn version(binary: &Path) -> Option<String> {
    let output = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("etcd Version:"))
        .map(|version| version.trim().to_string())
}

/// A cluster of `size` members, or None after printing a skip line when it cannot start.
///
/// # Panics
/// When it cannot start and `MATCHMAKER_TEST_REQUIRED=1`: the test must fail, not skip.
pub fn cluster_or_skip(size: usize, test_name: &str) -> Option<EtcdCluster> {
    match EtcdCluster::start(size) {
        Ok(cluster) => Some(cluster),
        Err(error) if crate::required() => {
            panic!("{test_name}: a {size}-member etcd cluster could not start: {error}")
        }
        Err(error) => {
            eprintln!(
                "skipping {test_name}: a {size}-member etcd cluster could not start: {error}"
            );
            None
        }
    }
}

/// The endpoints of the shared etcd (`MATCHMAKER_ETCD_ENDPOINTS`), or None after printing a skip line.
///
/// # Panics
/// When the variable is unset and `MATCHMAKER_TEST_REQUIRED=1`: the test must fail, not skip.
pub fn shared_endpoints_or_skip(test_name: &str) -> Option<Vec<String>> {
    crate::shared_or_skip(ENDPOINTS_ENV, "etcd", test_name).map(|value| {
        value
            .split(',')
            .map(str::trim)
            .filter(|endpoint| !endpoint.is_empty())
            .map(String::from)
            .collect()
    })
}
