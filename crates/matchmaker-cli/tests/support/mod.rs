//! Running the built `matchmaker` binary from tests.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_matchmaker");

/// A generous bound for anything a test waits for; never a tight timing assertion.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Every variable the binary reads to pick a registry (or log level): cleared for each run, so
/// the caller's shell cannot change what a test sees.
pub const CLEARED: [&str; 14] = [
    "MATCHMAKER_URL",
    "ETCDCTL_ENDPOINTS",
    "ETCDCTL_CACERT",
    "ETCDCTL_CERT",
    "ETCDCTL_KEY",
    "ETCDCTL_USER",
    "ETCDCTL_PASSWORD",
    "CONSUL_HTTP_ADDR",
    "CONSUL_HTTP_SSL",
    "CONSUL_HTTP_TOKEN",
    "CONSUL_CACERT",
    "CONSUL_CLIENT_CERT",
    "CONSUL_CLIENT_KEY",
    "RUST_LOG",
];

/// `matchmaker ARGS` with the [`CLEARED`] variables removed, then `vars` set.
pub fn command(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for name in CLEARED {
        command.env_remove(name);
    }
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Runs `matchmaker ARGS` to completion with no registry variable set.
pub fn run(args: &[&str]) -> Output {
    run_with(args, &[])
}

/// Runs `matchmaker ARGS` to completion with only the registry variables `vars` set.
pub fn run_with(args: &[&str], vars: &[(&str, &str)]) -> Output {
    command(args, vars)
        .output()
        .expect("the matchmaker binary runs")
}

/// The exit code, stdout and stderr of a finished run.
pub fn outcome(output: &Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A `matchmaker` process left running, with its output lines readable as they come.
pub struct Running {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stdout line seen so far.
    pub stdout_seen: Vec<String>,
    /// Every stderr line seen so far.
    pub stderr_seen: Vec<String>,
}

fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

impl Running {
    /// Starts `matchmaker ARGS` with no registry variable set.
    pub fn start(args: &[&str]) -> Running {
        Running::start_with(args, &[])
    }

    /// Starts `matchmaker ARGS` with only the registry variables `vars` set.
    pub fn start_with(args: &[&str], vars: &[(&str, &str)]) -> Running {
        let mut child = command(args, vars)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the matchmaker binary starts");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
            stdout_seen: Vec::new(),
            stderr_seen: Vec::new(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stdout line contains `needle`, or panics with everything seen.
    pub fn wait_stdout(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            self.drain_stderr();
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .stdout
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    self.stdout_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) if Instant::now() >= deadline => self.give_up("stdout", needle),
                Err(_) => {}
            }
        }
    }

    /// Waits until a stderr line contains `needle`, or panics with everything seen.
    pub fn wait_stderr(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .stderr
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) if Instant::now() >= deadline => self.give_up("stderr", needle),
                Err(_) => {}
            }
        }
    }

    fn drain_stderr(&mut self) {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
    }

    fn give_up(&mut self, stream: &str, needle: &str) -> ! {
        self.drain_stderr();
        let _ = self.child.kill();
        panic!(
            "no {stream} line containing {needle:?}\nstdout: {:#?}\nstderr: {:#?}",
            self.stdout_seen, self.stderr_seen
        );
    }

    /// Sends `signal` (`TERM`, `INT`, `KILL`) with the `kill` command.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit (bounded), returning its exit code (None if signalled).
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Collect what is left of the output for the caller's assertions.
                std::thread::sleep(Duration::from_millis(50));
                while let Ok(line) = self.stdout.try_recv() {
                    self.stdout_seen.push(line);
                }
                self.drain_stderr();
                return status.code();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "process did not exit in {within:?}\nstdout: {:#?}\nstderr: {:#?}",
                    self.stdout_seen, self.stderr_seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
