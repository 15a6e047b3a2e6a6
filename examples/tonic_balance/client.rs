//! The client: a tonic `Channel` balanced over the workers the matchmaker knows, and a log
//! of the joins and leaves it applies.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use matchmaker::tower::tonic::{balance_channel, http_endpoint};
use matchmaker::tower::{Change, Discovery, Member};
use matchmaker::Registry;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use super::worker::WORKER_HEADER;
use super::TOPIC;

/// Longest a call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The endpoint for one worker: `http://ip:port` with short timeouts.
pub fn endpoint(member: &Member) -> Result<Endpoint, tonic::transport::Error> {
    Ok(http_endpoint(member)?
        .connect_timeout(Duration::from_secs(1))
        .timeout(CALL_TIMEOUT))
}

/// A channel balanced over the live workers of [`TOPIC`].
pub fn balanced(registry: Arc<dyn Registry>) -> matchmaker::Result<Channel> {
    balance_channel(registry, TOPIC, endpoint)
}

/// One health check over `channel`: the worker that answered, or why none did.
pub async fn call(channel: &Channel) -> Result<String, String> {
    let mut health = HealthClient::new(channel.clone());
    let check = health.check(HealthCheckRequest::default());
    match tokio::time::timeout(CALL_TIMEOUT, check).await {
        Err(_) => Err("timed out".into()),
        Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
        Ok(Ok(response)) => response
            .metadata()
            .get(WORKER_HEADER)
            .and_then(|name| name.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("no {WORKER_HEADER} header")),
    }
}

/// How many calls each worker answered, and how many failed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Calls answered, by worker.
    pub answered: BTreeMap<String, usize>,
    /// Calls that failed (refused, reset, timed out).
    pub failed: usize,
}

impl Tally {
    /// Counts one call's outcome.
    pub fn add(&mut self, outcome: &Result<String, String>) {
        match outcome {
            Ok(worker) => *self.answered.entry(worker.clone()).or_default() += 1,
            Err(_) => self.failed += 1,
        }
    }
}

impl fmt::Display for Tally {
    /// `127.0.0.1:40001=31 127.0.0.1:40002=29 failed=0`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (worker, count) in &self.answered {
            write!(f, "{worker}={count} ")?;
        }
        write!(f, "failed={}", self.failed)
    }
}

/// `count` calls one after the other.
pub async fn calls(channel: &Channel, count: usize) -> Tally {
    let mut tally = Tally::default();
    for _ in 0..count {
        tally.add(&call(channel).await);
    }
    tally
}

/// Follows the joins and leaves of [`TOPIC`] with a second [`Discovery`] (the channel's own
/// is inside it), calling `seen` with `+host` or `-host` for each.
pub fn watch_membership(
    registry: Arc<dyn Registry>,
    seen: impl Fn(String) + Send + 'static,
) -> matchmaker::Result<JoinHandle<()>> {
    let mut changes = Discovery::new(registry, TOPIC, |_| ())?;
    Ok(tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            match change {
                Ok(Change::Insert(host, ())) => seen(format!("+{host}")),
                Ok(Change::Remove(host)) => seen(format!("-{host}")),
                Err(error) => seen(format!("!{error}")),
            }
        }
    }))
}
