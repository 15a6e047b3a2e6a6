//! Waiting until a freshly started server answers, with errors that carry its log.

use std::time::{Duration, Instant};

use crate::process::ServerProcess;
use crate::TestkitError;

/// How long a server may take to become ready: generous, because the machine may be busy.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Number of log lines quoted in errors.
pub(crate) const LOG_TAIL_LINES: usize = 30;

/// Polls `check` until it returns `Ok(())`, the process exits, or `timeout` passes.
///
/// `check` returns `Err(description)` while the server is not ready yet.
pub(crate) fn wait_until_ready(
    process: &mut ServerProcess,
    timeout: Duration,
    mut check: impl FnMut(&ServerProcess) -> Result<(), String>,
) -> Result<(), TestkitError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = process.exit_status() {
            // Give the log a moment to be flushed by the exiting process.
            std::thread::sleep(Duration::from_millis(50));
            let error = TestkitError::Exited {
                server: process.server(),
                status: status.to_string(),
                log: process.log_path().to_path_buf(),
                log_tail: process.log_tail(LOG_TAIL_LINES),
            };
            process.kill();
            return Err(error);
        }
        let last_check = match check(process) {
            Ok(()) => return Ok(()),
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            let error = TestkitError::NotReady {
                server: process.server(),
                timeout,
                last_check,
                log: process.log_path().to_path_buf(),
                log_tail: process.log_tail(LOG_TAIL_LINES),
            };
            process.kill();
            return Err(error);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Runs `attempt` up to three times while it fails because a port was taken meanwhile.
pub(crate) fn retry_on_port_clash<T>(
    mut attempt: impl FnMut() -> Result<T, TestkitError>,
) -> Result<T, TestkitError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(error) if tries < 3 && error.is_port_clash() => continue,
            other => return other,
        }
    }
}
