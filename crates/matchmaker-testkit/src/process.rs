//! A child server process whose output goes to a log file and which dies with its handle.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::TestkitError;

/// How long a server may take to exit cleanly after SIGTERM before it is killed.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(10);

/// How the server is launched; kept so it can be launched again with the same arguments.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// Short server name used in messages.
    pub server: &'static str,
    /// The binary.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub envs: Vec<(OsString, OsString)>,
    /// File receiving stdout and stderr (appended to across restarts).
    pub log: PathBuf,
}

/// A running (or stopped) server process. Dropping it kills the process.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    launch: Launch,
    child: Option<Child>,
    /// Length of the log file when the current run started: readiness only looks past it.
    log_offset: u64,
}

impl ServerProcess {
    /// Starts the process described by `launch`.
    pub fn spawn(launch: Launch) -> Result<Self, TestkitError> {
        let mut process = ServerProcess {
            launch,
            child: None,
            log_offset: 0,
        };
        process.respawn()?;
        Ok(process)
    }

    /// Starts the process again with the same arguments (after `kill` or `terminate`).
    pub fn respawn(&mut self) -> Result<(), TestkitError> {
        self.kill();
        let launch = &self.launch;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .map_err(|err| {
                TestkitError::io(format!("opening log {}", launch.log.display()), err)
            })?;
        self.log_offset = log.metadata().map(|meta| meta.len()).unwrap_or(0);
        let log_err = log
            .try_clone()
            .map_err(|err| TestkitError::io("duplicating the log file handle", err))?;
        let child = Command::new(&launch.program)
            .args(&launch.args)
            .envs(launch.envs.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|err| {
                TestkitError::io(format!("starting {}", launch.program.display()), err)
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Server name used in messages.
    pub fn server(&self) -> &'static str {
        self.launch.server
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.launch.log
    }

    /// Process id while the process is running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status if the process has exited (without waiting).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    /// Kills the process with SIGKILL and reaps it. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM, waits up to `grace` for a clean exit, then falls back to SIGKILL.
    pub fn terminate(&mut self, grace: Duration) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if sent {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    self.child = None;
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// Everything the current run wrote to the log so far.
    pub fn current_log(&self) -> String {
        read_from(&self.launch.log, self.log_offset)
    }

    /// The last `lines` lines of the whole log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = read_from(&self.launch.log, 0);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(offset)).is_ok() && file.read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}
