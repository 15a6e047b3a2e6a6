//! A throwaway single-member etcd on loopback, and the etcd that `cargo xtask` shares with tests.

mod server;

use std::path::{Path, PathBuf};

pub use server::{EtcdOptions, EtcdServer, TlsFiles};

/// Environment variable naming the etcd binary to use.
pub const BIN_ENV: &str = "MATCHMAKER_ETCD_BIN";

/// Environment variable holding the comma-separated endpoints of the etcd started by `cargo xtask`.
pub const ENDPOINTS_ENV: &str = "MATCHMAKER_ETCD_ENDPOINTS";

/// The etcd binary: `MATCHMAKER_ETCD_BIN` if it names an executable, else `etcd` on `PATH`.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(BIN_ENV).filter(|value| !value.is_empty()) {
        let path = PathBuf::from(path);
        if crate::is_executable(&path) {
            return Some(path);
        }
        eprintln!(
            "testkit: {BIN_ENV}={} is not an executable file; looking for `etcd` on PATH",
            path.display()
        );
    }
    crate::find_on_path("etcd")
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
