//! Membership streams: the events the lookup loops broadcast, filtered by topic, each join
//! completed with the registration's metadata.
//!
//! The namespace watch sees checks, which carry no service `Meta`, so the caches broadcast
//! joins with empty metadata; a stream reads the joined service's `Meta` (one request on the
//! lookups lane, only for subscribers and only per join) before it yields the join.

use std::sync::Arc;
use std::time::Duration;

use matchmaker_core::{MembershipEvent, MembershipStream, Metadata};
use tokio::sync::broadcast::{self, error::RecvError};

use crate::client::ConsulClient;
use crate::naming::{self, META_HOST, META_NAMESPACE, META_TOPIC};

/// How often a join's metadata is asked for before the join is yielded without it.
const METADATA_ATTEMPTS: u32 = 3;
/// The pause after the first failed metadata read; doubled after each further one.
const METADATA_RETRY: Duration = Duration::from_millis(100);

/// Where a stream reads a joined registration's metadata.
pub(crate) struct MetadataSource {
    pub client: ConsulClient,
    pub namespace: String,
}

/// A stream of `receiver`'s events about `topic` (all topics when `None`).
///
/// It ends when the backend is dropped. A subscriber that falls more than 1024 events behind
/// loses the oldest ones (logged at warn).
pub(crate) fn stream(
    receiver: broadcast::Receiver<MembershipEvent>,
    topic: Option<String>,
    source: MetadataSource,
) -> MembershipStream {
    Box::pin(futures_util::stream::unfold(
        (receiver, topic, source),
        |(mut receiver, topic, source)| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => {
                        let wanted = match topic.as_deref() {
                            Some(wanted) => wanted == event.topic(),
                            None => true,
                        };
                        if wanted {
                            let event = with_metadata(event, &source).await;
                            return Some((event, (receiver, topic, source)));
                        }
                    }
                    Err(RecvError::Lagged(lost)) => {
                        tracing::warn!(
                            lost,
                            "consul membership subscriber fell behind and lost events"
                        );
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    ))
}

/// A join completed with the metadata the joined service carries; other events unchanged.
///
/// If the agent cannot be asked (it is the same agent the watch just answered from, so this
/// is rare), the join is yielded with empty metadata after a few retries, logged at warn:
/// a join is never held back or dropped because of its metadata.
async fn with_metadata(event: MembershipEvent, source: &MetadataSource) -> MembershipEvent {
    let MembershipEvent::Joined { topic, host, .. } = event else {
        return event;
    };
    let mut pause = METADATA_RETRY;
    let mut attempt = 1;
    let metadata = loop {
        match metadata_of(source, &topic, &host).await {
            Ok(metadata) => break metadata,
            Err(error) if attempt >= METADATA_ATTEMPTS => {
                tracing::warn!(
                    %topic, %host, %error,
                    "consul: could not read a joined registration's metadata; the join carries none"
                );
                break Metadata::new();
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
        }
    };
    MembershipEvent::joined(topic, host, Arc::new(metadata))
}

/// The user metadata of the service registering `host` for `topic` (empty if it is gone).
async fn metadata_of(
    source: &MetadataSource,
    topic: &str,
    host: &str,
) -> matchmaker_core::Result<Metadata> {
    let name = naming::service_name(&source.namespace, topic);
    let (entries, _) = source.client.health_service(&name, false, None).await?;
    let entry = entries.into_iter().find(|entry| {
        entry.meta(META_NAMESPACE) == Some(source.namespace.as_str())
            && entry.meta(META_TOPIC) == Some(topic)
            && entry.meta(META_HOST) == Some(host)
    });
    Ok(entry
        .map(|entry| naming::user_metadata(entry.service.meta.as_ref()))
        .unwrap_or_default())
}
