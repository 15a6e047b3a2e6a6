//! The fault suite's shared helpers: waiting for a condition while measuring how long it took,
//! and recording the figures `RELIABILITY.md` quotes.
//!
//! The scenarios themselves are the tests in `tests/`; `cargo xtask faults` runs them (and the
//! backends' own fault tests) against real servers and prints every recorded figure.
#![deny(missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

pub use matchmaker_testkit::figures::{record, record_duration};

/// How often [`wait_for`] re-checks its condition.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `condition` every [`POLL`] until it is true, and returns how long that took; `Err`
/// with the time waited once `bound` has passed.
pub async fn wait_for<F, Fut>(bound: Duration, mut condition: F) -> Result<Duration, Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if condition().await {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= bound {
            return Err(started.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Sorted hosts of `fanout~topic` on `matchmaker`, or `None` when the lookup failed.
pub async fn fanout_hosts(
    matchmaker: &dyn matchmaker_core::MatchMaker,
    topic: &str,
) -> Option<Vec<String>> {
    let routes = matchmaker.queues(&format!("fanout~{topic}")).await.ok()?;
    let mut hosts: Vec<String> = routes
        .iter()
        .filter_map(|route| route.host().map(str::to_owned))
        .collect();
    hosts.sort();
    Some(hosts)
}
