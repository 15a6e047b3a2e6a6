//! Real gRPC load-balanced over the workers the matchmaker knows: each worker serves the
//! standard health service (`grpc.health.v1.Health`, from tonic-health) and registers its
//! listening address `ip:port` as its host; the client's tonic `Channel` is fed by
//! `matchmaker::tower::tonic::balance_channel`, so calls spread over the live workers and
//! follow joins and leaves. Each response names its worker in an `x-worker` header.
//!
//! ```sh
//! # Everything in one process on the memory backend: 3 workers, one killed, one added.
//! cargo run --example tonic_balance --features tonic
//!
//! # Across real processes, with etcd (or consul://127.0.0.1:8500):
//! cargo run --example tonic_balance --features tonic,etcd -- --url etcd://127.0.0.1:2379 \
//!     --role worker --port 7001
//! cargo run --example tonic_balance --features tonic,etcd -- --url etcd://127.0.0.1:2379 \
//!     --role worker --port 7002
//! cargo run --example tonic_balance --features tonic,etcd -- --url etcd://127.0.0.1:2379 \
//!     --role client
//! # then `kill -9` one worker: within its TTL (2 s) the client stops calling it.
//! ```

#[path = "tonic_balance/client.rs"]
mod client;
#[path = "tonic_balance/worker.rs"]
mod worker;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matchmaker::Registry;

use client::{balanced, call, calls, endpoint, watch_membership, Tally};
use worker::{connect, Worker};

/// The topic every worker serves.
pub const TOPIC: &str = "health";

type AnyError = Box<dyn Error + Send + Sync>;

/// What to run, from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The matchmaker URL; the memory backend by default.
    pub url: String,
    /// Demo (all in one process), worker or client.
    pub role: Role,
    /// The worker's listen address, which it registers as its host with the port.
    pub host: String,
    /// The worker's port; 0 picks a free one.
    pub port: u16,
    /// The registrations' TTL.
    pub ttl: Duration,
    /// How many rounds the client runs (two per second).
    pub rounds: u32,
    /// Calls per client round.
    pub calls: usize,
}

/// The three ways to run the example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Workers and client in one process.
    Demo,
    /// One worker process.
    Worker,
    /// One client process.
    Client,
}

const USAGE: &str = "usage: tonic_balance [--url URL] [--role demo|worker|client] \
                     [--host HOST] [--port PORT] [--ttl SECONDS] [--rounds N] [--calls N]";

/// How long a client round lasts, calls included.
pub const ROUND: Duration = Duration::from_millis(500);

/// Parses `--url`, `--role`, `--host`, `--port`, `--ttl`, `--rounds` and `--calls`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        url: "memory://tonic-balance".into(),
        role: Role::Demo,
        host: "127.0.0.1".into(),
        port: 0,
        ttl: Duration::from_secs(2),
        rounds: 120,
        calls: 20,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value; {USAGE}"));
        match flag.as_str() {
            "--url" => options.url = value()?,
            "--role" => {
                options.role = match value()?.as_str() {
                    "demo" => Role::Demo,
                    "worker" => Role::Worker,
                    "client" => Role::Client,
                    other => return Err(format!("unknown role {other:?}; {USAGE}")),
                }
            }
            "--host" => options.host = value()?,
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--ttl" => {
                let seconds: u64 = value()?.parse().map_err(|e| format!("--ttl: {e}"))?;
                options.ttl = Duration::from_secs(seconds);
            }
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--calls" => options.calls = value()?.parse().map_err(|e| format!("--calls: {e}"))?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(options)
}

async fn bind_address(options: &Options) -> Result<SocketAddr, AnyError> {
    Ok(
        tokio::net::lookup_host((options.host.as_str(), options.port))
            .await?
            .next()
            .ok_or("--host resolves to no address")?,
    )
}

/// What the all-in-one demo saw, for the test to check.
#[derive(Debug)]
pub struct DemoReport {
    /// The three workers started first.
    pub workers: Vec<String>,
    /// Calls answered per worker before the kill.
    pub first_spread: Tally,
    /// The worker that answered a directed call to `health.<workers[1]>`.
    pub directed_answered_by: Option<String>,
    /// The worker that was killed.
    pub killed: String,
    /// When, after the kill, the client's discovery removed it.
    pub removed_after: Duration,
    /// Calls that failed after the kill (routed to the dead worker before its removal).
    pub failed_after_kill: usize,
    /// When, after the kill, the last call failed: the client stopped calling it then.
    pub last_failure_after: Option<Duration>,
    /// Whether a directed lookup of the killed worker still gave a service after removal.
    pub directed_to_killed: bool,
    /// The worker started after the kill.
    pub newcomer: String,
    /// How long after its registration the newcomer answered its first call.
    pub newcomer_first_call_after: Duration,
    /// Calls answered per worker at the end.
    pub last_spread: Tally,
}

/// Three workers and a balanced client in one process: spread calls, kill one worker, add
/// one. `say` receives each line of output.
pub async fn run_demo(options: &Options, say: impl Fn(String)) -> Result<DemoReport, AnyError> {
    let bind = bind_address(&Options {
        port: 0,
        ..options.clone()
    })
    .await?;
    let mut workers = Vec::new();
    for _ in 0..3 {
        let worker = Worker::start(&options.url, options.ttl, bind).await?;
        say(format!(
            "worker {} serves {TOPIC:?} (gRPC health)",
            worker.host
        ));
        workers.push(worker);
    }
    let hosts: Vec<String> = workers.iter().map(|worker| worker.host.clone()).collect();
    let registry: Arc<dyn Registry> = Arc::from(connect(&options.url, options.ttl).await?);
    let channel = balanced(registry.clone())?;
    let membership = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let log = membership.clone();
    let watcher = watch_membership(registry.clone(), move |change| {
        log.lock().unwrap().push((Instant::now(), change));
    })?;
    let seen = |change: &str| {
        let changes = membership.lock().unwrap();
        changes.iter().find(|(_, c)| c == change).map(|(at, _)| *at)
    };

    let first_spread = calls(&channel, 90).await;
    say(format!(
        "90 calls over the balanced channel: {first_spread}"
    ));
    let directed = matchmaker::tower::directed(
        registry.as_ref(),
        &format!("{TOPIC}.{}", hosts[1]),
        |member| endpoint(member).map(|endpoint| endpoint.connect_lazy()),
    )
    .await?
    .transpose()?;
    let directed_answered_by = match &directed {
        Some(channel) => call(channel).await.ok(),
        None => None,
    };
    say(format!(
        "directed call to {TOPIC}.{}: answered by {}",
        hosts[1],
        directed_answered_by.as_deref().unwrap_or("nobody")
    ));

    let killed = workers.pop().ok_or("no worker")?;
    let killed_host = killed.host.clone();
    killed.kill().await?;
    let killed_at = Instant::now();
    say(format!(
        "killed {killed_host}: server and heartbeat stopped, NOT unregistered (TTL {:?})",
        options.ttl
    ));
    let deadline = killed_at + options.ttl + Duration::from_secs(10);
    let mut failed_after_kill = 0;
    let mut last_failure = None;
    let removed_at = loop {
        let started = Instant::now();
        if call(&channel).await.is_err() {
            failed_after_kill += 1;
            last_failure = Some(started);
        }
        if let Some(removed_at) = seen(&format!("-{killed_host}")) {
            // Calls keep going a little past the removal: none may fail any more.
            if started > removed_at + Duration::from_millis(300) {
                break removed_at;
            }
        }
        if Instant::now() > deadline {
            return Err(format!("{killed_host} still in the balancer long after its TTL").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let removed_after = removed_at - killed_at;
    let last_failure_after = last_failure.map(|at| at.saturating_duration_since(killed_at));
    say(format!(
        "  the client removed it {:.1}s after the kill; {failed_after_kill} calls routed to it \
         failed meanwhile (last {:.1}s after the kill), none since",
        removed_after.as_secs_f64(),
        last_failure_after.unwrap_or_default().as_secs_f64(),
    ));
    let directed_to_killed =
        matchmaker::tower::directed(registry.as_ref(), &format!("{TOPIC}.{killed_host}"), |_| ())
            .await?
            .is_some();
    say(format!(
        "  directed lookup of {TOPIC}.{killed_host}: {}",
        if directed_to_killed {
            "still routed"
        } else {
            "not registered any more"
        }
    ));

    let newcomer = Worker::start(&options.url, options.ttl, bind).await?;
    let registered_at = Instant::now();
    let newcomer_host = newcomer.host.clone();
    say(format!("worker {newcomer_host} joins"));
    workers.push(newcomer);
    let newcomer_first_call_after = loop {
        if call(&channel).await.as_deref() == Ok(newcomer_host.as_str()) {
            break registered_at.elapsed();
        }
        if registered_at.elapsed() > Duration::from_secs(10) {
            return Err(format!("{newcomer_host} never received a call").into());
        }
    };
    say(format!(
        "  it answered its first call {} ms after registering",
        newcomer_first_call_after.as_millis()
    ));
    let last_spread = calls(&channel, 90).await;
    say(format!("90 calls over the balanced channel: {last_spread}"));

    watcher.abort();
    for worker in workers {
        worker.stop().await?;
    }
    Ok(DemoReport {
        workers: hosts,
        first_spread,
        directed_answered_by,
        killed: killed_host,
        removed_after,
        failed_after_kill,
        last_failure_after,
        directed_to_killed,
        newcomer: newcomer_host,
        newcomer_first_call_after,
        last_spread,
    })
}

/// One worker process: serves until Ctrl-C or SIGTERM, then drains.
async fn run_worker(options: &Options) -> Result<(), AnyError> {
    let worker = Worker::start(&options.url, options.ttl, bind_address(options).await?).await?;
    println!(
        "worker {} serves {TOPIC:?} via {}; Ctrl-C or SIGTERM drains",
        worker.host, options.url
    );
    shutdown_signal().await?;
    let host = worker.host.clone();
    worker.stop().await?;
    println!("worker {host} drained: no other process routes to it any more");
    Ok(())
}

/// One client process: every half second a round of calls, with a tally per worker.
async fn run_client(options: &Options) -> Result<(), AnyError> {
    let registry: Arc<dyn Registry> = Arc::from(connect(&options.url, options.ttl).await?);
    let channel = balanced(registry.clone())?;
    let _watcher = watch_membership(registry, |change| println!("membership {change}"))?;
    println!("client balancing {TOPIC:?} via {}", options.url);
    for round in 1..=options.rounds {
        let started = Instant::now();
        let tally = calls(&channel, options.calls).await;
        println!("round {round}: {tally}");
        tokio::time::sleep(ROUND.saturating_sub(started.elapsed())).await;
    }
    Ok(())
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

#[allow(dead_code)] // the test includes this file and calls `run_demo` or `main` itself
#[tokio::main]
pub async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let outcome = match options.role {
        Role::Demo => run_demo(&options, |line| println!("{line}"))
            .await
            .map(|_| ()),
        Role::Worker => run_worker(&options).await,
        Role::Client => run_client(&options).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
