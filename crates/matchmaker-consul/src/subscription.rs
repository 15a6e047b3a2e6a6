//! Membership streams: the hub's snapshot and changes, completed with the registrations'
//! metadata.
//!
//! The namespace watch sees checks, which carry no service `Meta`, so the caches publish joins
//! with empty metadata and know none for a snapshot. A stream reads it itself, only for
//! subscribers: one `health/service` request (on the lookups lane) per topic of a snapshot,
//! and one per join.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use matchmaker_core::{MembershipEvent, MembershipSnapshot, MembershipStream, Metadata};

use crate::cache::TopicCache;
use crate::client::ConsulClient;
use crate::naming::{self, META_HOST, META_NAMESPACE, META_TOPIC};
use crate::watcher::Watchers;

/// How often metadata is asked for before the item is yielded without it.
const METADATA_ATTEMPTS: u32 = 3;
/// The pause after the first failed metadata read; doubled after each further one.
const METADATA_RETRY: Duration = Duration::from_millis(100);
/// How long a snapshot waits for the watch's first answer before it logs and waits again.
const FIRST_ANSWER_WAIT: Duration = Duration::from_secs(1);

/// Where a stream reads metadata.
struct MetadataSource {
    client: ConsulClient,
    namespace: String,
}

/// A stream of `topic`'s membership (all topics when `None`) as `watchers` see it: a
/// snapshot once the watch has answered, then joins and leaves. It ends when the backend is
/// dropped; the lag policy is the hub's.
pub(crate) fn stream(
    watchers: &Arc<Watchers>,
    cache: Option<Arc<TopicCache>>,
    topic: Option<&str>,
) -> MembershipStream {
    let source = Arc::new(MetadataSource {
        client: watchers.lookups.clone(),
        namespace: watchers.context.namespace.clone(),
    });
    let reader = (Arc::downgrade(watchers), cache, source.clone());
    let changes = watchers.context.hub.subscribe(topic, move |_| {
        let (watchers, cache, source) = reader.clone();
        read_snapshot(watchers, cache, source)
    });
    Box::pin(changes.then(move |event| with_metadata(event, source.clone())))
}

/// The membership once the watch has answered (waiting as long as it takes, logged each
/// [`FIRST_ANSWER_WAIT`]), with each topic's metadata; `None` once the backend is gone.
async fn read_snapshot(
    watchers: Weak<Watchers>,
    cache: Option<Arc<TopicCache>>,
    source: Arc<MetadataSource>,
) -> Option<MembershipSnapshot> {
    let mut answered = watchers.upgrade()?.answered();
    loop {
        let ready = match &cache {
            Some(cache) => {
                cache
                    .wait_until(FIRST_ANSWER_WAIT, |state| state.loaded)
                    .await
            }
            None => {
                let wait = answered.wait_for(|answered| *answered);
                match tokio::time::timeout(FIRST_ANSWER_WAIT, wait).await {
                    Ok(Ok(_)) => true,
                    // The backend is gone.
                    Ok(Err(_)) => return None,
                    Err(_) => false,
                }
            }
        };
        if ready {
            break;
        }
        watchers.upgrade()?;
        tracing::warn!("consul: a membership stream waits for the namespace watch's first answer");
    }
    let mut snapshot = watchers.upgrade()?.snapshot(cache.as_ref());
    let topics: BTreeSet<String> = snapshot
        .members()
        .iter()
        .map(|member| member.topic.clone())
        .collect();
    let mut metadata = HashMap::new();
    for topic in topics {
        let hosts = with_retries(&topic, "", || metadata_of_topic(&source, &topic)).await;
        for (host, data) in hosts.unwrap_or_default() {
            metadata.insert((topic.clone(), host), Arc::new(data));
        }
    }
    snapshot.fill_metadata(|member| {
        metadata
            .get(&(member.topic.clone(), member.host.clone()))
            .cloned()
    });
    Some(snapshot)
}

/// A join completed with the metadata the joined service carries; other events unchanged.
async fn with_metadata(event: MembershipEvent, source: Arc<MetadataSource>) -> MembershipEvent {
    let MembershipEvent::Joined { topic, host, .. } = event else {
        return event;
    };
    let hosts = with_retries(&topic, &host, || metadata_of_topic(&source, &topic)).await;
    let metadata = hosts
        .and_then(|mut hosts| hosts.remove(&host))
        .unwrap_or_default();
    MembershipEvent::joined(topic, host, Arc::new(metadata))
}

/// `read`'s answer, retried [`METADATA_ATTEMPTS`] times; `None` (logged at warn) if the agent
/// could not be asked. It is the same agent the watch just answered from, so this is rare, and
/// an item is never held back or dropped because of its metadata.
async fn with_retries<Read, Reading, T>(topic: &str, host: &str, mut read: Read) -> Option<T>
where
    Read: FnMut() -> Reading,
    Reading: std::future::Future<Output = matchmaker_core::Result<T>>,
{
    let mut pause = METADATA_RETRY;
    for attempt in 1..=METADATA_ATTEMPTS {
        match read().await {
            Ok(answer) => return Some(answer),
            Err(error) if attempt == METADATA_ATTEMPTS => {
                tracing::warn!(
                    %topic, %host, %error,
                    "consul: could not read registrations' metadata; the event carries none"
                );
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
    None
}

/// The user metadata of every service registering a host for `topic`, by host.
async fn metadata_of_topic(
    source: &MetadataSource,
    topic: &str,
) -> matchmaker_core::Result<HashMap<String, Metadata>> {
    let name = naming::service_name(&source.namespace, topic);
    let (entries, _) = source.client.health_service(&name, false, None).await?;
    Ok(entries
        .into_iter()
        .filter(|entry| {
            entry.meta(META_NAMESPACE) == Some(source.namespace.as_str())
                && entry.meta(META_TOPIC) == Some(topic)
        })
        .filter_map(|entry| {
            let host = entry.meta(META_HOST)?.to_owned();
            Some((host, naming::user_metadata(entry.service.meta.as_ref())))
        })
        .collect())
}
