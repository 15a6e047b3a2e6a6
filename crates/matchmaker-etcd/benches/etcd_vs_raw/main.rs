//! `cargo bench -p matchmaker-etcd` (or `cargo xtask bench`): what the etcd matchmaker's
//! lookups, heartbeats and registrations cost, next to what the same work costs with one plain
//! etcd request per item (the original Redis matchmaker's pattern), measured in the same run on
//! a throwaway etcd on loopback. Figures are printed as ratios to that baseline.
//!
//! Outside `cargo bench` (no `--bench` argument, e.g. `cargo test --all-targets`) it measures
//! nothing and exits at once. Without an etcd binary it prints why and skips, or fails when
//! `MATCHMAKER_TEST_REQUIRED=1`.

mod heartbeat;
mod lookup;
mod lookup_scale;
mod register;
mod sync_scale;

use std::process::ExitCode;
use std::time::Duration;

use matchmaker_core::HeartbeatConfig;
use matchmaker_etcd::{EtcdConfig, EtcdMatchMaker};
use matchmaker_testkit::etcd::{EtcdOptions, EtcdServer};

use matchmaker_testkit::bench as report;
use report::BenchResult;

#[global_allocator]
static ALLOCATOR: matchmaker_testkit::allocations::Counting =
    matchmaker_testkit::allocations::Counting;

/// Long enough that no lease expires during the run, since no background heartbeat runs.
const TTL: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    report::main(
        "etcd_vs_raw",
        || EtcdServer::start(EtcdOptions::default()),
        |etcd| {
            let comparisons = runtime()?.block_on(run(&etcd.endpoints()))?;
            let version = etcd.version().unwrap_or("(unknown version)");
            let title = format!(
                "matchmaker-etcd vs raw etcd-client requests, etcd {version} on loopback, same run"
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

async fn run(endpoints: &[String]) -> BenchResult<Vec<report::Comparison>> {
    let raw = etcd_client::Client::connect(endpoints, None).await?;
    let mut rows = vec![lookup::compare(endpoints, raw.clone()).await?];
    rows.extend(lookup_scale::compare(endpoints, raw.clone()).await?);
    rows.extend(heartbeat::compare(endpoints, raw.clone()).await?);
    rows.extend(register::compare(endpoints, raw.clone()).await?);
    rows.extend(sync_scale::compare(endpoints, raw).await?);
    Ok(rows)
}

/// A matchmaker under `prefix` with a TTL no run outlasts (heartbeats are sent by hand).
async fn connect(endpoints: &[String], prefix: &str) -> BenchResult<EtcdMatchMaker> {
    let config = EtcdConfig {
        endpoints: endpoints.to_vec(),
        prefix: prefix.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(TTL),
        ..EtcdConfig::default()
    };
    Ok(matchmaker_etcd::connect(config).await?)
}

/// Registration `index` of `count` spread over `topics` topics: (`<tag>-topic-<i % topics>`,
/// `<tag>-host-<i>`).
fn pair(tag: &str, index: usize, topics: usize) -> (String, String) {
    (
        format!("{tag}-topic-{}", index % topics),
        format!("{tag}-host-{index}"),
    )
}
