//! Command-line arguments.

use std::time::Duration;

use clap::{Parser, Subcommand};

/// See and change which hosts serve which topics, on any matchmaker backend.
///
/// Exit codes: 0 success, 1 other failure, 2 usage error, 3 invalid input (key, URL, config),
/// 4 registry unreachable, 5 not found or empty result, 6 credentials refused, 7 operation
/// not supported by this backend.
#[derive(Debug, Parser)]
#[command(name = "matchmaker", version, after_help = URL_HELP)]
pub struct Cli {
    /// Backend URL: `memory://`, `localhost://[host]`, `stub://`, `ring:///path/ring.json`,
    /// `etcd://host:port[,host:port]`, `consul://host:port`.
    #[arg(
        long,
        global = true,
        env = "MATCHMAKER_URL",
        default_value = "memory://"
    )]
    pub url: String,

    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Print the library's counters (heartbeats sent, lookups, re-registrations, ...) to
    /// stderr when the command ends.
    #[arg(long, global = true)]
    pub metrics: bool,

    /// Log more to stderr (-v info, -vv debug, -vvv trace); RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const URL_HELP: &str = "\
Examples:
  matchmaker --url etcd://127.0.0.1:2379 register scheduler node1 --ttl 5s --hold
  matchmaker --url etcd://127.0.0.1:2379 list scheduler
  matchmaker --url consul://127.0.0.1:8500 watch scheduler
  matchmaker --url ring:///etc/matchmaker/ring.json queues fanout~scheduler";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up the queues (and hosts) a key routes to: `topic`, `topic.host` or `fanout~topic`.
    Queues {
        /// The key to look up.
        key: String,
    },
    /// Register HOST as serving TOPIC.
    Register {
        /// The topic served (may contain dots).
        topic: String,
        /// The host serving it (no '/' or whitespace).
        host: String,
        /// How long the registration stays alive without a heartbeat (e.g. 10s, 1500ms).
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// Keep heartbeating until Ctrl-C or SIGTERM, then unregister and exit 0.
        #[arg(long)]
        hold: bool,
    },
    /// Remove the registration of HOST for TOPIC.
    Unregister {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
    },
    /// List registrations: topic, host, alive, TTL left, instance.
    List {
        /// Only this topic.
        topic: Option<String>,
    },
    /// Print joins and leaves, with timestamps, as they happen (until Ctrl-C).
    Watch {
        /// Only this topic.
        topic: Option<String>,
    },
    /// Expire the registration of HOST for TOPIC now, whoever made it.
    Expire {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
    },
}

impl Command {
    /// The subcommand's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Queues { .. } => "queues",
            Command::Register { .. } => "register",
            Command::Unregister { .. } => "unregister",
            Command::List { .. } => "list",
            Command::Watch { .. } => "watch",
            Command::Expire { .. } => "expire",
        }
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| format!("{error}; write e.g. 10s or 1500ms"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ttl_accepts_human_durations() {
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("write e.g. 10s"));
    }
}
