//! A tonic [`Channel`] that load-balances over a topic's live hosts (feature `tonic`).

use std::collections::HashSet;
use std::fmt::Display;
use std::sync::Arc;

use futures_util::StreamExt;
use matchmaker_core::{Error, Registry, Result};
use tokio::sync::mpsc::Sender;
use tonic::transport::channel::Change as ChannelChange;
use tonic::transport::{Channel, Endpoint};
use tower::discover::Change;

use crate::{Discovery, Member};

/// How many changes may wait for the channel to take them.
const CHANGES_BUFFERED: usize = 64;

/// A [`Channel`] balanced over the live hosts of `topic`: each host the registry reports is
/// added through `make_endpoint` and each host that leaves is removed, as a [`Discovery`]
/// reports them (see there for races, backoff and what happens while the registry is
/// unreachable: the last known hosts stay).
///
/// A host whose `make_endpoint` fails is logged at warn and left out; it is tried again if it
/// leaves and joins again. The feeding task runs on the current tokio runtime and ends when
/// the last clone of the returned channel is dropped (dropping the subscription), or when
/// the discovery stops with a permanent error (logged; the channel keeps its last hosts).
///
/// Fails with [`Error::NoRuntime`] outside a tokio runtime, and as [`Discovery::new`] does
/// (invalid topic, backend that cannot watch).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// use std::sync::Arc;
/// use matchmaker_core::Registry;
/// use matchmaker_tower::tonic::{balance_channel, http_endpoint};
///
/// # let registry: Arc<dyn Registry> = unimplemented!();
/// // Workers register their `ip:port` as their host for the topic `echo`.
/// let channel = balance_channel(registry, "echo", http_endpoint)?;
/// // Any tonic client over `channel` now spreads its calls over the live workers, e.g.
/// // tonic_health::pb::health_client::HealthClient::new(channel).
/// # drop(channel); Ok(()) }
/// ```
pub fn balance_channel<F, E>(
    registry: Arc<dyn Registry>,
    topic: &str,
    make_endpoint: F,
) -> Result<Channel>
where
    F: Fn(&Member) -> Result<Endpoint, E> + Send + 'static,
    E: Display + Send + 'static,
{
    runtime()?;
    balance_discovery(Discovery::new(registry, topic, make_endpoint)?)
}

/// [`balance_channel`] from a [`Discovery`] made by the caller, e.g. one with its own
/// [`crate::Backoff`].
pub fn balance_discovery<E>(discovery: Discovery<Result<Endpoint, E>>) -> Result<Channel>
where
    E: Display + Send + 'static,
{
    let runtime = runtime()?;
    let (channel, changes) = Channel::balance_channel::<String>(CHANGES_BUFFERED);
    runtime.spawn(feed(discovery, changes));
    Ok(channel)
}

/// `http://{host}`: a plain-text endpoint for hosts registered as `ip:port` or `name:port`.
pub fn http_endpoint(member: &Member) -> Result<Endpoint, tonic::transport::Error> {
    Endpoint::from_shared(format!("http://{}", member.host))
}

fn runtime() -> Result<tokio::runtime::Handle> {
    tokio::runtime::Handle::try_current()
        .map_err(|_| Error::NoRuntime("matchmaker_tower::tonic::balance_channel"))
}

/// Forwards the discovery's changes to the channel until the channel is dropped.
async fn feed<E: Display + Send + 'static>(
    mut discovery: Discovery<Result<Endpoint, E>>,
    changes: Sender<ChannelChange<String, Endpoint>>,
) {
    let topic = discovery.topic().to_owned();
    let mut inserted = HashSet::new();
    loop {
        let next = tokio::select! {
            biased;
            () = changes.closed() => break,
            next = discovery.next() => next,
        };
        let change = match next {
            Some(Ok(Change::Insert(host, Ok(endpoint)))) => {
                inserted.insert(host.clone());
                ChannelChange::Insert(host, endpoint)
            }
            Some(Ok(Change::Insert(host, Err(error)))) => {
                tracing::warn!(%topic, %host, %error, "no endpoint for host; not balancing over it");
                continue;
            }
            Some(Ok(Change::Remove(host))) => {
                if !inserted.remove(&host) {
                    continue;
                }
                ChannelChange::Remove(host)
            }
            Some(Err(error)) => {
                tracing::error!(%topic, %error, "balanced channel no longer follows the topic");
                break;
            }
            None => break,
        };
        if changes.send(change).await.is_err() {
            break;
        }
    }
    tracing::debug!(%topic, "balanced channel feeding ended");
}
