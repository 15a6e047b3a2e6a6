//! Quickstart: three hosts in one process share the in-memory registry.
//!
//! Each host registers the topic `scheduler` and heartbeats; lookups show one host for a bare
//! topic, the named host for a directed key, and every host for a fanout. Then one host stops
//! heartbeating, as a crashed process would, and disappears once its TTL runs out.
//!
//! Run it with `cargo run --example quickstart` (about two seconds).

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use matchmaker::memory::{connect, MemoryMatchMaker, MemoryRegistry};
use matchmaker::{HeartbeatConfig, MatchMaker, MembershipEvent, Strategy};
use tokio::time::{timeout, Instant};

/// How long a registration lives after its last heartbeat.
pub const TTL: Duration = Duration::from_secs(2);
const TOPIC: &str = "scheduler";
const HOSTS: [&str; 3] = ["node1", "node2", "node3"];

/// Writes one line of output, turning write errors into the example's error.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => { writeln!($out, $($arg)*)? };
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    run(&mut std::io::stdout()).await
}

/// The whole walk-through, writing what happens (and why) to `out`.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    let mut config = HeartbeatConfig::with_ttl(TTL);
    config.strategy = Strategy::RoundRobin;
    say!(
        out,
        "matchmaker quickstart: three hosts share one in-process registry (memory backend)"
    );
    say!(
        out,
        "A registration lives {:.1}s after its last heartbeat; each host beats every {:.2}s.\n",
        TTL.as_secs_f64(),
        config.interval().as_secs_f64()
    );

    say!(
        out,
        "1. node1, node2 and node3 register topic {TOPIC:?} and start heartbeating"
    );
    let registry = MemoryRegistry::new();
    let mut hosts: Vec<MemoryMatchMaker> = Vec::new();
    for host in HOSTS {
        let matchmaker = connect(&registry, config.clone())?;
        matchmaker.register(TOPIC, host).await?;
        matchmaker.start_heartbeat()?;
        say!(out, "   {host} registered {TOPIC}.{host}");
        hosts.push(matchmaker);
    }
    let asker = &hosts[0];

    say!(
        out,
        "\n2. Lookups (any host can ask: they all read the same registry)"
    );
    for (key, what) in [
        ("scheduler", "bare topic: ONE live host, here round-robin"),
        ("scheduler", "asked again: the next host"),
        (
            "scheduler.node3",
            "directed key: that host, as named (no registry lookup)",
        ),
        ("fanout~scheduler", "fanout: EVERY live host, sorted"),
    ] {
        say!(out, "   queues({key:?})  {what}:");
        for route in asker.queues(key).await? {
            say!(out, "       {route}");
        }
    }

    say!(
        out,
        "\n3. node3 stops heartbeating, as if it crashed (it does not unregister)"
    );
    // A membership stream starts with the current members, then yields joins and leaves.
    let mut leaves = asker.subscribe(Some(TOPIC))?;
    if let Some(MembershipEvent::Snapshot { members, .. }) = leaves.next().await {
        say!(
            out,
            "   subscribed to {TOPIC}: {} hosts present",
            members.len()
        );
    }
    hosts[2].stop_heartbeat();
    let stopped = Instant::now();
    for info in asker.list(Some(TOPIC)).await? {
        let ttl_left = info.ttl_left.unwrap_or_default();
        say!(
            out,
            "   still listed: {:<6} TTL left {:.1}s",
            info.host,
            ttl_left.as_secs_f64()
        );
    }
    say!(
        out,
        "   waiting for node3's TTL to run out (the others keep beating)..."
    );
    match timeout(TTL * 2, leaves.next()).await {
        Ok(Some(MembershipEvent::Left { host, .. })) => say!(
            out,
            "   event after {:.1}s: {host} left {TOPIC} (its TTL ran out)",
            stopped.elapsed().as_secs_f64()
        ),
        other => return Err(format!("expected node3 to leave, got {other:?}").into()),
    }

    say!(out, "\n4. After node3's TTL: lookups only see live hosts");
    say!(out, "   queues(\"fanout~scheduler\"):");
    for route in asker.queues("fanout~scheduler").await? {
        say!(out, "       {route}");
    }
    say!(
        out,
        "   node3 alive? {}",
        asker.is_alive(TOPIC, "node3").await?
    );

    say!(
        out,
        "\n5. node2 unregisters cleanly: it leaves at once, no TTL to wait for"
    );
    hosts[1].unregister(TOPIC, "node2").await?;
    if let Ok(Some(MembershipEvent::Left { topic, host })) =
        timeout(Duration::from_millis(100), leaves.next()).await
    {
        say!(out, "   event: {host} left {topic}");
    }
    say!(out, "   queues(\"fanout~scheduler\"):");
    for route in asker.queues("fanout~scheduler").await? {
        say!(out, "       {route}");
    }
    say!(
        out,
        "\ndone in {:.1}s; dropping the matchmakers stops their heartbeats.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
