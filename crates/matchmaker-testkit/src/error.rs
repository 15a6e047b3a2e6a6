//! The one error type of the testkit.

use std::path::PathBuf;
use std::time::Duration;

/// Why a real server could not be found or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// No usable binary for the server; `reason` lists what was tried.
    #[error("{server} binary not found: {reason}")]
    BinaryNotFound {
        /// Server name (`etcd`, `consul`).
        server: &'static str,
        /// What was tried and why each attempt failed.
        reason: String,
    },
    /// An I/O operation (spawn, temp dir, log file) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A helper command (apt-get, dpkg-deb, sha256sum) failed.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command line that failed.
        command: String,
        /// Exit status and output.
        detail: String,
    },
    /// The server process exited while it was starting.
    #[error("{server} exited during startup ({status}); its log ended with:\n{log_tail}")]
    Exited {
        /// Server name.
        server: &'static str,
        /// Its exit status.
        status: String,
        /// Path of its log file (removed with the server's temporary folder).
        log: PathBuf,
        /// The last lines of its log.
        log_tail: String,
    },
    /// The server did not become ready in time.
    #[error(
        "{server} not ready after {timeout:?} (last check: {last_check}); log {log}:\n{log_tail}"
    )]
    NotReady {
        /// Server name.
        server: &'static str,
        /// How long we waited.
        timeout: Duration,
        /// What the last readiness check saw.
        last_check: String,
        /// Path of its log file (removed with the server's temporary folder).
        log: PathBuf,
        /// The last lines of its log.
        log_tail: String,
    },
    /// The options cannot work together (for example client certificates without TLS).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}

impl TestkitError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io {
            context: context.into(),
            source,
        }
    }

    /// True when the failure looks like a port taken by someone else (worth a retry on new ports).
    pub(crate) fn is_port_clash(&self) -> bool {
        match self {
            TestkitError::Exited { log_tail, .. } | TestkitError::NotReady { log_tail, .. } => {
                log_tail.contains("address already in use")
            }
            _ => false,
        }
    }
}
