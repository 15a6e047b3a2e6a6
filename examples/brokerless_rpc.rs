//! Brokerless RPC: workers serve a topic over plain TCP, a client finds them with the
//! matchmaker and talks to them directly. No broker anywhere.
//!
//! ```sh
//! # Everything in one process on the memory backend (three workers, one killed):
//! cargo run --example brokerless_rpc
//!
//! # Across real processes, with etcd (or consul://127.0.0.1:8500):
//! cargo run --example brokerless_rpc --features etcd -- --url etcd://127.0.0.1:2379 \
//!     --role worker --host 127.0.0.1 --port 7001
//! cargo run --example brokerless_rpc --features etcd -- --url etcd://127.0.0.1:2379 \
//!     --role worker --host 127.0.0.1 --port 7002
//! cargo run --example brokerless_rpc --features etcd -- --url etcd://127.0.0.1:2379 \
//!     --role client
//! # then `kill -9` one worker: within its TTL (2s) the client stops routing to it.
//! ```
//!
//! Each worker registers the topic `echo` with its address `ip:port` as the host, so a
//! client needs no address map: a cast asks `queues("echo")` (one live worker), a call asks
//! `queues("echo.127.0.0.1:7001")` (that worker), a fanout asks `queues("fanout~echo")`
//! (every live worker). The wire is one line of JSON each way per TCP connection.

#[path = "brokerless_rpc/client.rs"]
mod client;
#[path = "brokerless_rpc/wire.rs"]
mod wire;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use matchmaker::{ConnectConfig, HeartbeatConfig, Registry};

use client::{describe, Client};
use wire::Worker;

/// The topic every worker serves.
pub const TOPIC: &str = "echo";

type AnyError = Box<dyn Error + Send + Sync>;

/// What to run, from the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The matchmaker URL; the memory backend by default.
    pub url: String,
    /// Demo (all in one process), worker or client.
    pub role: Role,
    /// The worker's listen address and registered host name.
    pub host: String,
    /// The worker's port; 0 picks a free one.
    pub port: u16,
    /// The registrations' TTL.
    pub ttl: Duration,
    /// How many rounds the client runs (one per second).
    pub rounds: u32,
}

/// The three ways to run the example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Workers and client as tasks in one process.
    Demo,
    /// One worker process.
    Worker,
    /// One client process.
    Client,
}

const USAGE: &str = "usage: brokerless_rpc [--url URL] [--role demo|worker|client] \
                     [--host HOST] [--port PORT] [--ttl SECONDS] [--rounds N]";

/// Parses `--url`, `--role`, `--host`, `--port`, `--ttl` and `--rounds`.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        url: "memory://brokerless-rpc".into(),
        role: Role::Demo,
        host: "127.0.0.1".into(),
        port: 0,
        ttl: Duration::from_secs(2),
        rounds: 60,
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
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
    }
    Ok(options)
}

async fn connect(options: &Options) -> matchmaker::Result<Box<dyn Registry>> {
    let config =
        ConnectConfig::new(&options.url).with_heartbeat(HeartbeatConfig::with_ttl(options.ttl));
    matchmaker::connect_with(&config).await
}

/// What the all-in-one demo saw, for the test to check.
#[derive(Debug)]
pub struct DemoReport {
    /// Every worker started.
    pub workers: Vec<String>,
    /// The worker that was killed.
    pub killed: String,
    /// Workers that answered casts.
    pub cast_answered_by: Vec<String>,
    /// The worker that answered the directed call.
    pub call_answered_by: Option<String>,
    /// Workers that answered the first fanout.
    pub fanout_answered_by: Vec<String>,
    /// Workers still routed to right after the kill (the dead one is still registered).
    pub routed_right_after_kill: Vec<String>,
    /// Workers routed to once the dead one's TTL ran out.
    pub routed_after_ttl: Vec<String>,
    /// How long routing kept including the dead worker.
    pub forgotten_after: Duration,
}

/// Three workers and a client in one process: cast, call, fanout, kill one worker, and wait
/// until the client stops routing to it. `say` receives each line of output.
pub async fn run_demo(options: &Options, say: impl Fn(String)) -> Result<DemoReport, AnyError> {
    let bind: SocketAddr = format!("{}:0", options.host).parse()?;
    let mut workers = Vec::new();
    for _ in 0..3 {
        let worker = Worker::start(connect(options).await?, TOPIC, bind).await?;
        say(format!("worker {} serves {TOPIC:?}", worker.host));
        workers.push(worker);
    }
    let hosts: Vec<String> = workers.iter().map(|worker| worker.host.clone()).collect();
    let matchmaker = connect(options).await?;
    let client = Client {
        matchmaker: matchmaker.as_ref(),
        topic: TOPIC.into(),
    };

    say(format!("cast to {TOPIC:?} (one worker each):"));
    let mut cast_answered_by = Vec::new();
    for round in 1..=3 {
        if let Some(delivery) = client.cast(&format!("cast #{round}")).await? {
            say(format!("  {}", describe(&delivery)));
            if delivery.outcome.is_ok() {
                cast_answered_by.push(delivery.worker);
            }
        }
    }
    say(format!("call {TOPIC}.{}:", hosts[1]));
    let call = client.call(&hosts[1], "call #1").await?;
    if let Some(delivery) = &call {
        say(format!("  {}", describe(delivery)));
    }
    say(format!("fanout~{TOPIC} (every worker):"));
    let fanout = client.fanout("fanout #1").await?;
    for delivery in &fanout {
        say(format!("  {}", describe(delivery)));
    }

    let killed = workers.pop().ok_or("no worker")?;
    let killed_host = killed.host.clone();
    killed.kill();
    let killed_at = Instant::now();
    say(format!(
        "killed {killed_host} (no unregister; its registration lives until its TTL of {:?})",
        options.ttl
    ));
    let routed_right_after_kill = client.workers().await?;
    for delivery in client.fanout("fanout #2").await? {
        say(format!("  {}", describe(&delivery)));
    }

    let deadline = killed_at + options.ttl + Duration::from_secs(20);
    let routed_after_ttl = loop {
        let routed = client.workers().await?;
        if !routed.contains(&killed_host) {
            break routed;
        }
        if Instant::now() > deadline {
            return Err(format!("{killed_host} still routed long after its TTL").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let forgotten_after = killed_at.elapsed();
    say(format!(
        "after {:.1}s the client no longer routes to {killed_host}:",
        forgotten_after.as_secs_f64()
    ));
    for delivery in client.fanout("fanout #3").await? {
        say(format!("  {}", describe(&delivery)));
    }
    for worker in workers {
        worker.stop().await?;
    }
    Ok(DemoReport {
        workers: hosts,
        killed: killed_host,
        cast_answered_by,
        call_answered_by: call.filter(|d| d.outcome.is_ok()).map(|d| d.worker),
        fanout_answered_by: fanout
            .into_iter()
            .filter(|delivery| delivery.outcome.is_ok())
            .map(|delivery| delivery.worker)
            .collect(),
        routed_right_after_kill,
        routed_after_ttl,
        forgotten_after,
    })
}

/// One worker process: serves until Ctrl-C, then drains.
async fn run_worker(options: &Options) -> Result<(), AnyError> {
    let bind: SocketAddr = tokio::net::lookup_host((options.host.as_str(), options.port))
        .await?
        .next()
        .ok_or("--host resolves to no address")?;
    let worker = Worker::start(connect(options).await?, TOPIC, bind).await?;
    println!(
        "worker {} serves {TOPIC:?} via {}; Ctrl-C to stop",
        worker.host, options.url
    );
    tokio::signal::ctrl_c().await?;
    let host = worker.host.clone();
    worker.stop().await?;
    println!("worker {host} drained: no other process routes to it any more");
    Ok(())
}

/// One client process: every second, a cast, a call to each live worker and a fanout.
async fn run_client(options: &Options) -> Result<(), AnyError> {
    let matchmaker = connect(options).await?;
    let client = Client {
        matchmaker: matchmaker.as_ref(),
        topic: TOPIC.into(),
    };
    for round in 1..=options.rounds {
        let workers = client.workers().await?;
        println!("round {round}: live workers {workers:?}");
        if let Some(delivery) = client.cast(&format!("cast #{round}")).await? {
            println!("  cast   {}", describe(&delivery));
        }
        for worker in &workers {
            if let Some(delivery) = client.call(worker, &format!("call #{round}")).await? {
                println!("  call   {}", describe(&delivery));
            }
        }
        for delivery in client.fanout(&format!("fanout #{round}")).await? {
            println!("  fanout {}", describe(&delivery));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

#[allow(dead_code)] // the test includes this file and calls `run_demo` instead
#[tokio::main]
async fn main() -> ExitCode {
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
