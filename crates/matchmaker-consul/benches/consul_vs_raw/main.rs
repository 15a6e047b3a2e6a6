//! `cargo bench -p matchmaker-consul` (or `cargo xtask bench`): what the Consul matchmaker's
//! lookups (and how they grow with hosts per topic), registrations and heartbeats cost, next to the same work done with plain agent API requests (one
//! per lookup, one check pass per registration), measured in the same run on a throwaway
//! `consul agent -dev` on loopback. Figures are printed as ratios to that baseline.
//!
//! Outside `cargo bench` (no `--bench` argument, e.g. `cargo test --all-targets`) it measures
//! nothing and exits at once. Without a consul binary it prints why and skips, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`.

mod heartbeat;
mod lookup;
mod lookup_scale;
mod register;
mod scale;

use std::process::ExitCode;
use std::time::Duration;

use matchmaker_consul::{ConsulConfig, ConsulMatchMaker};
use matchmaker_core::HeartbeatConfig;
use matchmaker_testkit::consul::{ConsulAgent, ConsulOptions};

use matchmaker_testkit::bench as report;
use report::BenchResult;

#[global_allocator]
static ALLOCATOR: matchmaker_testkit::allocations::Counting =
    matchmaker_testkit::allocations::Counting;

/// Long enough that no check expires during the run, since no background heartbeat runs.
const TTL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    report::main(
        "consul_vs_raw",
        || {
            ConsulAgent::start(ConsulOptions {
                acl: false,
                ..ConsulOptions::default()
            })
        },
        |agent| {
            let comparisons = runtime()?.block_on(run(&agent.addr(), agent.http_port()))?;
            let version = agent.version().unwrap_or("(unknown version)");
            let title = format!(
                "matchmaker-consul vs raw agent API requests, Consul {version} -dev on loopback, same run"
            );
            Ok((title, comparisons))
        },
    )
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

async fn run(address: &str, agent_port: u16) -> BenchResult<Vec<report::Comparison>> {
    let raw = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = format!("http://{address}");
    let mut comparisons = vec![
        lookup::compare(address, &raw, &base).await?,
        heartbeat::compare(address, &raw, &base).await?,
    ];
    comparisons.extend(register::compare(address, &raw, &base).await?);
    comparisons.extend(scale::compare(address, agent_port, &raw, &base).await?);
    comparisons.extend(lookup_scale::compare(address, &raw, &base).await?);
    Ok(comparisons)
}

/// A matchmaker on the agent at `address` in `namespace` (heartbeats are sent by hand).
async fn connect(address: &str, namespace: &str) -> BenchResult<ConsulMatchMaker> {
    let config = ConsulConfig {
        address: address.to_owned(),
        namespace: namespace.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(TTL),
        ..ConsulConfig::default()
    };
    Ok(matchmaker_consul::connect(config).await?)
}

/// Registration `index` spread over `topics` topics: (`<tag>-topic-<i % topics>`,
/// `<tag>-host-<i>`).
fn pair(tag: &str, index: usize, topics: usize) -> (String, String) {
    (
        format!("{tag}-topic-{}", index % topics),
        format!("{tag}-host-{index}"),
    )
}
