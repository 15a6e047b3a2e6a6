//! The real etcd and Consul that a test run shares, and the environment that points tests at them.

use std::process::Command;
use std::time::{Duration, Instant};

use matchmaker_testkit::consul::{self, ConsulAgent, ConsulOptions};
use matchmaker_testkit::etcd::{self, EtcdOptions, EtcdServer};

use crate::interrupt;

/// A server a test run can need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// etcd, for `matchmaker-etcd`.
    Etcd,
    /// A Consul dev agent, for `matchmaker-consul`.
    Consul,
}

impl std::fmt::Display for Server {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Server::Etcd => "etcd",
            Server::Consul => "consul",
        })
    }
}

impl Server {
    /// The package whose tests need this server.
    pub fn package(self) -> &'static str {
        match self {
            Server::Etcd => "matchmaker-etcd",
            Server::Consul => "matchmaker-consul",
        }
    }
}

/// The servers started for one run. Dropping it kills them (by PID, via the testkit).
#[derive(Debug, Default)]
pub struct RunningServers {
    etcd: Option<EtcdServer>,
    consul: Option<ConsulAgent>,
    /// What each wanted server is: "etcd 3.4.23 at 127.0.0.1:P" or "etcd MISSING (why)".
    descriptions: Vec<String>,
}

/// Starts `wanted`. A server that cannot be started fails the run when
/// `MATCHMAKER_TEST_REQUIRED=1`, otherwise it is reported and its tests skip.
pub fn start(wanted: &[Server]) -> Result<RunningServers, String> {
    let required = matchmaker_testkit::required();
    let mut running = RunningServers::default();
    for &server in wanted {
        let started = Instant::now();
        let outcome = match server {
            Server::Etcd => start_etcd(&mut running),
            Server::Consul => start_consul(&mut running),
        };
        let took = started.elapsed();
        match outcome {
            Ok(description) => {
                eprintln!("xtask: {description} (ready in {:.2}s)", took.as_secs_f64());
                running.descriptions.push(description);
            }
            Err(why) if required => {
                return Err(format!(
                    "{server} could not be started and MATCHMAKER_TEST_REQUIRED=1: {why}"
                ))
            }
            Err(why) => {
                eprintln!(
                    "xtask: WARNING: {server} not started, {} tests will skip: {why}",
                    server.package()
                );
                running.descriptions.push(format!("{server} MISSING"));
            }
        }
    }
    Ok(running)
}

fn start_etcd(running: &mut RunningServers) -> Result<String, String> {
    let server = EtcdServer::start(EtcdOptions::default()).map_err(|err| err.to_string())?;
    let description = format!(
        "etcd {} at {}",
        server.version().unwrap_or("(unknown version)"),
        server.endpoint()
    );
    running.etcd = Some(server);
    Ok(description)
}

fn start_consul(running: &mut RunningServers) -> Result<String, String> {
    let binary = consul::binary().map_err(|err| err.to_string())?;
    let agent = ConsulAgent::start_with_binary(&binary, ConsulOptions::default())
        .map_err(|err| err.to_string())?;
    let description = format!(
        "consul {} at {}",
        agent.version().unwrap_or("(unknown version)"),
        agent.addr()
    );
    running.consul = Some(agent);
    Ok(description)
}

impl RunningServers {
    /// The environment variables tests read, as (name, value); absent servers are absent here.
    pub fn exports(&self) -> Vec<(&'static str, String)> {
        let mut exports = Vec::new();
        if let Some(server) = &self.etcd {
            exports.push((etcd::ENDPOINTS_ENV, server.endpoints().join(",")));
            if let Ok(binary) = etcd::binary() {
                exports.push((etcd::BIN_ENV, binary.display().to_string()));
            }
        }
        if let Some(agent) = &self.consul {
            exports.push((consul::ADDR_ENV, agent.addr()));
            if let Ok(binary) = consul::binary() {
                exports.push((consul::BIN_ENV, binary.display().to_string()));
            }
        }
        exports
    }

    /// Points `command` at the running servers, and away from any stale ones in our environment.
    pub fn apply_env(&self, command: &mut Command) {
        for name in [
            etcd::ENDPOINTS_ENV,
            etcd::BIN_ENV,
            consul::ADDR_ENV,
            consul::BIN_ENV,
        ] {
            command.env_remove(name);
        }
        for (name, value) in self.exports() {
            command.env(name, value);
        }
    }

    /// "etcd 3.4.23 at 127.0.0.1:P, consul 1.8.7 at 127.0.0.1:Q".
    pub fn describe(&self) -> String {
        self.descriptions.join(", ")
    }

    /// Prints the end of each server's log (before the logs vanish with the servers).
    pub fn print_log_tails(&self) {
        let logs = [
            self.etcd.as_ref().map(|server| ("etcd", server.log_path())),
            self.consul
                .as_ref()
                .map(|agent| ("consul", agent.log_path())),
        ];
        for (name, path) in logs.into_iter().flatten() {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            eprintln!("xtask: last lines of the {name} log:\n{}", tail.join("\n"));
        }
    }
}

/// `cargo xtask servers`: start both, print the exports, wait for Ctrl-C, stop them.
pub fn serve_until_interrupted() -> Result<(), ()> {
    let servers =
        start(&[Server::Etcd, Server::Consul]).map_err(|why| eprintln!("xtask: {why}"))?;
    for (name, value) in servers.exports() {
        println!("export {name}={value}");
    }
    eprintln!("xtask: {}; press Ctrl-C to stop", servers.describe());
    while !interrupt::requested() {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(servers);
    eprintln!("xtask: servers stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn apply_env_removes_stale_server_variables_when_no_server_runs() {
        let mut command = Command::new("true");
        command.env(etcd::ENDPOINTS_ENV, "127.0.0.1:1");
        RunningServers::default().apply_env(&mut command);
        let endpoints = command
            .get_envs()
            .find(|(name, _)| *name == OsStr::new(etcd::ENDPOINTS_ENV));
        assert_eq!(endpoints, Some((OsStr::new(etcd::ENDPOINTS_ENV), None)));
    }

    #[test]
    fn started_etcd_is_exported_to_tests() {
        if etcd::binary().is_err() && !matchmaker_testkit::required() {
            eprintln!("skipping started_etcd_is_exported_to_tests: no etcd binary");
            return;
        }
        let running = start(&[Server::Etcd]).expect("etcd starts");
        let exports = running.exports();
        let endpoints = exports
            .iter()
            .find(|(name, _)| *name == etcd::ENDPOINTS_ENV);
        assert!(endpoints.is_some_and(|(_, value)| value.starts_with("127.0.0.1:")));
        assert!(
            running.describe().starts_with("etcd 3."),
            "{}",
            running.describe()
        );
    }

    #[test]
    fn server_names_are_lowercase_for_messages() {
        assert_eq!(Server::Etcd.to_string(), "etcd");
        assert_eq!(Server::Consul.package(), "matchmaker-consul");
    }
}
