//! Command-line arguments.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// See and change which hosts serve which topics, on any matchmaker backend.
#[derive(Debug, Parser)]
#[command(name = "matchmaker", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Backend URL: `memory://`, `localhost://[host]`, `stub://`, `ring:///path/ring.json`,
    /// `etcd://host:port[,host:port]`, `consul://host:port`. Without it: MATCHMAKER_URL, then
    /// ETCDCTL_ENDPOINTS, then CONSUL_HTTP_ADDR, then `memory://` (see below).
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,

    /// Output format: `table`; `wide` (tables with more columns: TTL left and instance for
    /// `list`); `json` (for scripts).
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        value_enum,
        value_name = "FORMAT"
    )]
    pub output: Option<Format>,

    /// Same as `-o json`.
    #[arg(long, global = true, conflicts_with = "output")]
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

impl Cli {
    /// The output format asked for (`--json` is `-o json`).
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.output.unwrap_or(Format::Table)
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The table with every column (`list`: TTL left and instance).
    Wide,
    /// JSON for scripts (`watch`: one object per line).
    Json,
}

const AFTER_HELP: &str = "\
Registry (the first that is set):
  --url URL
  MATCHMAKER_URL      a matchmaker URL
  ETCDCTL_ENDPOINTS   host:2379[,host:2379...], http:// optional -> etcd://host:2379,...
                      (https:// endpoints: TLS with ETCDCTL_CACERT, ETCDCTL_CERT,
                      ETCDCTL_KEY; ETCDCTL_USER and ETCDCTL_PASSWORD log in)
  CONSUL_HTTP_ADDR    host:8500, http:// optional -> consul://host:8500; https:// (or
                      CONSUL_HTTP_SSL=true) -> consuls:// with CONSUL_CACERT,
                      CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY
  (none)              memory://, which lives only as long as the command: list, watch,
                      expire and unregister refuse it (exit 3) unless --url memory:// says so
When both ETCDCTL_ENDPOINTS and CONSUL_HTTP_ADDR are set, etcd is used (-v says so).
CONSUL_HTTP_TOKEN is the Consul ACL token whenever the URL has no token=.

Durations (--ttl, and ttl=/interval= in etcd:// and consul:// URLs): a bare number is
seconds (10), or 10s, 1500ms, 1m. etcd leases are whole seconds, at least 2s.

Exit codes:
  0  success (also an empty list)
  1  any other failure
  2  usage error (unknown flag, missing argument, unparsable --ttl)
  3  invalid input: bad key or host, bad URL, scheme or registry variable, TTL out of
     range, unreadable ring file, no registry given to list/watch/expire/unregister
  4  registry unreachable (or a watch closed by the registry)
  5  not found: queues found no host, unregister/expire of a pair that was not alive
  6  the registry refused the credentials
  7  not supported by this backend (list/watch on localhost://, stub://, ring://)

Examples:
  matchmaker --url etcd://127.0.0.1:2379 register scheduler node1 --ttl 5 --hold
  ETCDCTL_ENDPOINTS=127.0.0.1:2379 matchmaker list scheduler -o wide
  CONSUL_HTTP_ADDR=127.0.0.1:8500 matchmaker watch scheduler
  matchmaker --url ring:///etc/matchmaker/ring.json queues fanout~scheduler
  source <(matchmaker completions bash)";

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
        /// How long the registration stays alive without a heartbeat: seconds (10) or
        /// 10s, 1500ms, 1m.
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// Metadata stored with the registration and shown by `list -o wide`/`-o json`:
        /// KEY=VALUE, repeatable (keys: letters, digits, '_' or '-').
        #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta)]
        meta: Vec<(String, String)>,
        /// Keep heartbeating until Ctrl-C or SIGTERM, then drain (unregister, and wait until
        /// no other process sees it) and exit 0.
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
    /// List registrations: topic, host, alive (`-o wide`: also TTL left and instance).
    List {
        /// Only this topic.
        topic: Option<String>,
    },
    /// Print who is there now (`present`), then joins and leaves as they happen (until
    /// Ctrl-C).
    Watch {
        /// Only this topic.
        topic: Option<String>,
        /// Print only changes, not who is there when the watch starts.
        #[arg(long)]
        no_snapshot: bool,
    },
    /// Expire the registration of HOST for TOPIC now, whoever made it.
    Expire {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
    },
    /// Print a shell completion script, e.g. `source <(matchmaker completions bash)`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// The subcommand's name, for logs and messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Queues { .. } => "queues",
            Command::Register { .. } => "register",
            Command::Unregister { .. } => "unregister",
            Command::List { .. } => "list",
            Command::Watch { .. } => "watch",
            Command::Expire { .. } => "expire",
            Command::Completions { .. } => "completions",
        }
    }

    /// True for commands that only make sense against a registry that outlives the command.
    pub fn needs_a_lasting_registry(&self) -> bool {
        matches!(
            self,
            Command::List { .. }
                | Command::Watch { .. }
                | Command::Expire { .. }
                | Command::Unregister { .. }
        )
    }
}

/// `KEY=VALUE`, split at the first `=`.
fn parse_meta(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// A duration as everywhere in matchmaker: a bare number of seconds or `10s`, `1500ms`, `1m`
/// (`matchmaker_core::heartbeat::duration_text`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    matchmaker::heartbeat::duration_text::parse_duration(text)
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
    fn ttl_accepts_bare_seconds_and_human_durations() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon")
            .unwrap_err()
            .contains("write 10 (seconds), 10s"));
        assert!(parse_duration("-1").is_err());
    }

    #[test]
    fn json_is_an_alias_of_output_json() {
        let cli = Cli::try_parse_from(["matchmaker", "list", "--json"]).unwrap();
        assert_eq!(cli.format(), Format::Json);
        let cli = Cli::try_parse_from(["matchmaker", "-o", "wide", "list"]).unwrap();
        assert_eq!(cli.format(), Format::Wide);
        let cli = Cli::try_parse_from(["matchmaker", "list"]).unwrap();
        assert_eq!(cli.format(), Format::Table);
        assert!(Cli::try_parse_from(["matchmaker", "list", "-o", "wide", "--json"]).is_err());
    }
}
