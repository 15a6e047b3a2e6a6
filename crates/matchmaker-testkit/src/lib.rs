//! Throwaway real servers (etcd, Consul) for matchmaker's tests and for `cargo xtask`.
//!
//! Every server runs on free loopback ports with its own temporary directory, is waited on until it
//! answers, and is killed (never left behind) when its handle is dropped.
//!
//! ```no_run
//! use matchmaker_testkit::etcd::{EtcdOptions, EtcdServer};
//!
//! let etcd = EtcdServer::start(EtcdOptions::default()).expect("etcd starts");
//! println!("etcd listens on {}", etcd.endpoint());
//! ```
#![deny(missing_docs)]

pub mod allocations;
pub mod bench;
pub mod consul;
mod error;
pub mod etcd;
pub mod figures;
pub mod http;
pub mod pki;
mod process;
pub mod provision;
mod readiness;
pub mod sockets;

use std::net::TcpListener;
use std::path::PathBuf;

pub use error::TestkitError;
pub use etcd::TlsFiles;

/// Environment variable that turns a missing real server into a test failure instead of a skip.
pub const TEST_REQUIRED_ENV: &str = "MATCHMAKER_TEST_REQUIRED";

/// A free TCP port on 127.0.0.1, found by binding port 0 and reading the port the OS chose.
///
/// The port is released before returning, so another process could take it in between: servers
/// started by this crate retry with new ports when their port turns out to be taken.
pub fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("binding 127.0.0.1:0 must work on any machine that runs these tests")
}

/// True when `MATCHMAKER_TEST_REQUIRED=1`: tests needing a real server must fail, not skip.
pub fn required() -> bool {
    std::env::var(TEST_REQUIRED_ENV).is_ok_and(|value| value.trim() == "1")
}

/// Root of the matchmaker workspace (the folder holding the root `Cargo.toml`), found at run time.
///
/// It is the workspace enclosing `CARGO_MANIFEST_DIR` as cargo sets it for `cargo run` and
/// `cargo test`, else the one enclosing the working directory, else the working directory. The
/// path compiled in is never used, so a target directory shared by two checkouts cannot make one
/// checkout's binaries test the other.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let cwd = std::env::current_dir().ok();
    manifest_dir
        .iter()
        .chain(cwd.iter())
        .find_map(|start| enclosing_workspace(start))
        .or(cwd)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The nearest folder at or above `start` whose `Cargo.toml` declares a `[workspace]`.
fn enclosing_workspace(start: &std::path::Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map(PathBuf::from)
}

/// cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root when relative),
/// else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|value| !value.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The shared server named by `env_var`, or a skip (None) / panic (when [`required`]) if unset.
pub(crate) fn shared_or_skip(env_var: &str, server: &str, test_name: &str) -> Option<String> {
    match std::env::var(env_var) {
        Ok(value) if !value.trim().is_empty() => Some(value.trim().to_string()),
        _ if required() => panic!(
            "{test_name}: {env_var} is not set but {TEST_REQUIRED_ENV}=1; \
             run the tests through `cargo xtask test`, which starts a real {server}"
        ),
        _ => {
            eprintln!(
                "skipping {test_name}: {env_var} is not set (run `cargo xtask test` to start a real {server})"
            );
            None
        }
    }
}

/// Finds `name` in the directories of `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    find_in_path_var(name, std::env::var_os("PATH"))
}

/// Finds `name` in the directories of a `PATH`-style value.
pub(crate) fn find_in_path_var(
    name: &str,
    path_var: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    std::env::split_paths(&path_var?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// True when `path` is a regular file with an execute bit.
pub(crate) fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_returns_a_bindable_port() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("the port just reported free can be bound");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn the_enclosing_workspace_is_found_from_a_member_folder_at_run_time() {
        let checkout = tempfile::tempdir().unwrap();
        let member = checkout.path().join("crates/member/src");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            checkout.path().join("Cargo.toml"),
            "[workspace]\nmembers = []\n",
        )
        .unwrap();
        std::fs::write(
            checkout.path().join("crates/member/Cargo.toml"),
            "[package]\nversion.workspace = true\n",
        )
        .unwrap();
        assert_eq!(
            enclosing_workspace(&member).as_deref(),
            Some(checkout.path())
        );
        assert_eq!(enclosing_workspace(std::path::Path::new("/")), None);
    }

    #[test]
    fn find_on_path_finds_sh_and_not_a_made_up_name() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-binary-matchmaker-testkit").is_none());
    }
}
