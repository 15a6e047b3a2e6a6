//! One function per subcommand.

use std::time::Duration;

use futures_util::StreamExt;
use matchmaker::{ConnectConfig, HeartbeatConfig, MembershipEvent, Registry};
use serde_json::json;
use tracing::Instrument;

use crate::args::{Cli, Command, Format};
use crate::failure::{Exit, Failure};
use crate::output::{self, print};
use crate::shutdown::Shutdown;
use crate::target::{Origin, Target};

/// How long `register --hold` waits, after Ctrl-C or SIGTERM, for its registration to be
/// removed everywhere.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

type Outcome = Result<(), Failure>;

/// Runs the command `cli` asks for against `target`.
pub async fn run(cli: &Cli, target: &Target) -> Outcome {
    if target.origin == Origin::Default && cli.command.needs_a_lasting_registry() {
        return Err(no_registry_given(cli.command.name()));
    }
    let ttl = match &cli.command {
        Command::Register { ttl, .. } => *ttl,
        _ => None,
    };
    let described = target.described();
    let registry = connect(&target.url, ttl, &described).await?;
    let shown_url = output::redact_url(&target.url);
    let context = Context {
        registry: registry.as_ref(),
        url: &shown_url,
        described: &described,
        format: cli.format(),
    };
    // Every library event of the command is logged inside this span (-v shows it).
    let span = tracing::info_span!(
        "command",
        name = cli.command.name(),
        backend = registry.backend_name()
    );
    async {
        match &cli.command {
            Command::Queues { key } => context.queues(key).await,
            Command::Register {
                topic,
                host,
                meta,
                hold,
                ..
            } => {
                let metadata: matchmaker::Metadata = meta.iter().cloned().collect();
                context.register(topic, host, metadata, *hold).await
            }
            Command::Unregister { topic, host } => {
                context.remove(topic, host, Removal::Unregister).await
            }
            Command::Expire { topic, host } => context.remove(topic, host, Removal::Expire).await,
            Command::List { topic } => context.list(topic.as_deref()).await,
            Command::Watch { topic, no_snapshot } => {
                context.watch(topic.as_deref(), !no_snapshot).await
            }
            // Answered before any registry is chosen (see main).
            Command::Completions { .. } => Ok(()),
        }
    }
    .instrument(span)
    .await
}

/// `list`, `watch`, `expire` and `unregister` of the throwaway `memory://` nobody asked for
/// would inspect an empty registry (and `watch` would wait forever): say what to set instead.
fn no_registry_given(command: &str) -> Failure {
    Failure::new(
        Exit::InvalidInput,
        format!(
            "no registry given: `matchmaker {command}` would only see this command's own empty \
             memory:// registry"
        ),
    )
    .hint(
        "give --url (e.g. --url etcd://127.0.0.1:2379), or set MATCHMAKER_URL, \
         ETCDCTL_ENDPOINTS or CONSUL_HTTP_ADDR; --url memory:// if you mean the throwaway one",
    )
}

async fn connect(
    url: &str,
    ttl: Option<Duration>,
    described: &str,
) -> Result<Box<dyn Registry>, Failure> {
    let mut config = ConnectConfig::new(url);
    if let Some(ttl) = ttl {
        config = config.with_heartbeat(HeartbeatConfig::with_ttl(ttl));
    }
    matchmaker::connect_with(&config)
        .await
        .map_err(|error| Failure::from_error(error, described))
}

struct Context<'a> {
    registry: &'a dyn Registry,
    /// The URL, redacted, for what commands report.
    url: &'a str,
    /// The URL, redacted, and where it came from, for hints.
    described: &'a str,
    format: Format,
}

#[derive(Clone, Copy)]
enum Removal {
    Unregister,
    Expire,
}

impl Context<'_> {
    fn fail(&self, error: matchmaker::Error) -> Failure {
        Failure::from_error(error, self.described)
    }

    fn json(&self) -> bool {
        self.format == Format::Json
    }

    fn backend(&self) -> &'static str {
        self.registry.backend_name()
    }

    async fn queues(&self, key: &str) -> Outcome {
        let routes = self.registry.queues(key).await.map_err(|e| self.fail(e))?;
        // Wide has nothing to add to a route: its queue and host are both shown already.
        if self.json() {
            print(&output::routes_json(&routes).to_string());
        } else if !routes.is_empty() {
            print(&output::routes_table(&routes));
        }
        if routes.is_empty() {
            return Err(
                Failure::new(Exit::NotFound, format!("no host serves {key:?}"))
                    .hint("`matchmaker list` shows what is registered"),
            );
        }
        Ok(())
    }

    async fn register(
        &self,
        topic: &str,
        host: &str,
        metadata: matchmaker::Metadata,
        hold: bool,
    ) -> Outcome {
        self.registry
            .register_with(topic, host, metadata)
            .await
            .map_err(|e| self.fail(e))?;
        let heartbeat = self.registry.heartbeat_config().cloned();
        let ttl = heartbeat.as_ref().map(|config| config.ttl);
        self.report("registered", topic, host, ttl);
        let Some(heartbeat) = heartbeat else {
            eprintln!(
                "note: {}:// keeps no registrations; nothing to keep alive",
                self.backend()
            );
            return Ok(());
        };
        if !hold {
            // Nothing of this process may outlive the registration's TTL (Consul: its
            // instance service).
            self.registry
                .leave_to_expire()
                .await
                .map_err(|e| self.fail(e))?;
            if self.backend() == "memory" {
                eprintln!("note: memory:// lives in this process only; use --hold to keep it");
            } else {
                eprintln!(
                    "note: nothing heartbeats it now: it expires {} from now (use --hold to \
                     keep it alive)",
                    output::format_duration(heartbeat.ttl)
                );
            }
            return Ok(());
        }
        let mut shutdown = listen()?;
        self.registry.start_heartbeat().map_err(|e| self.fail(e))?;
        eprintln!(
            "holding: heartbeating every {}; Ctrl-C or SIGTERM unregisters and exits",
            output::format_duration(heartbeat.interval())
        );
        let signal = shutdown.signalled().await;
        tracing::info!(signal, "stopping: draining");
        // Returns once no other process's lookups show the registration any more.
        self.registry
            .drain(DRAIN_TIMEOUT)
            .await
            .map_err(|e| self.fail(e))?;
        self.report("unregistered", topic, host, None);
        Ok(())
    }

    async fn remove(&self, topic: &str, host: &str, removal: Removal) -> Outcome {
        let was_alive = self
            .registry
            .is_alive(topic, host)
            .await
            .map_err(|e| self.fail(e))?;
        let done = match removal {
            Removal::Unregister => {
                let outcome = self.registry.unregister(topic, host).await;
                outcome.map(|()| "unregistered")
            }
            Removal::Expire => self.registry.expire(topic, host).await.map(|()| "expired"),
        }
        .map_err(|e| self.fail(e))?;
        if !was_alive {
            return Err(Failure::new(
                Exit::NotFound,
                format!("{host} is not registered for {topic} on {}", self.url),
            )
            .hint("`matchmaker list` shows what is registered"));
        }
        self.report(done, topic, host, None);
        Ok(())
    }

    /// An empty listing is a success (exit 0, `[]` in JSON), as with `etcdctl get` and
    /// `kubectl get`; the table form says so on stderr.
    async fn list(&self, topic: Option<&str>) -> Outcome {
        let registrations = self.registry.list(topic).await.map_err(|e| self.fail(e))?;
        match self.format {
            Format::Json => print(&output::registrations_json(&registrations).to_string()),
            _ if registrations.is_empty() => {
                let what = topic.map_or_else(String::new, |topic| format!(" for {topic}"));
                eprintln!("nothing is registered{what} on {}", self.url);
            }
            format => print(&output::registrations_table(
                &registrations,
                format == Format::Wide,
            )),
        }
        Ok(())
    }

    /// Prints the membership stream: its first item, the snapshot, as `present` lines (unless
    /// `snapshot` is false), then each change. The snapshot and the changes come from one
    /// stream, so nothing is missed or printed twice between them. A lagged snapshot (the
    /// watch fell behind) is said on stderr and printed again.
    async fn watch(&self, topic: Option<&str>, snapshot: bool) -> Outcome {
        let mut events = self.registry.subscribe(topic).map_err(|e| self.fail(e))?;
        // Listen before saying we are ready, so a signal right after the line is handled.
        let mut shutdown = listen()?;
        // The snapshot before the ready line: a change made after the line is printed as one.
        match events.next().await {
            Some(first) => {
                for line in output::event_lines(&first, snapshot, self.json()) {
                    print(&line);
                }
            }
            None => {
                return Err(
                    Failure::new(Exit::Unreachable, "the registry closed the watch")
                        .hint("run watch again; -v shows why it ended"),
                );
            }
        }
        eprintln!(
            "watching {} on {}; Ctrl-C to stop",
            topic.unwrap_or("every topic"),
            self.url
        );
        let stop = shutdown.signalled();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => {
                        if matches!(event, MembershipEvent::Snapshot { lagged: true, .. }) {
                            eprintln!("watch fell behind; the current membership follows");
                        }
                        for line in output::event_lines(&event, true, self.json()) {
                            print(&line);
                        }
                    }
                    None => {
                        return Err(Failure::new(Exit::Unreachable, "the registry closed the watch")
                            .hint("run watch again; -v shows why it ended"));
                    }
                },
                signal = &mut stop => {
                    tracing::info!(signal, "watch stopped");
                    return Ok(());
                }
            }
        }
    }

    /// Prints what a command did: a sentence, or one JSON object.
    fn report(&self, event: &str, topic: &str, host: &str, ttl: Option<Duration>) {
        if self.json() {
            let mut value = json!({
                "event": event,
                "topic": topic,
                "host": host,
                "backend": self.backend(),
            });
            if let Some(ttl) = ttl {
                value["ttl_ms"] = json!(ttl.as_millis() as u64);
            }
            print(&value.to_string());
        } else {
            let ttl = ttl.map_or_else(String::new, |ttl| {
                format!(" (ttl {})", output::format_duration(ttl))
            });
            print(&format!("{event} {host} for {topic} on {}{ttl}", self.url));
        }
    }
}

fn listen() -> Result<Shutdown, Failure> {
    Shutdown::listen()
        .map_err(|error| Failure::new(Exit::Other, format!("cannot listen for signals: {error}")))
}
