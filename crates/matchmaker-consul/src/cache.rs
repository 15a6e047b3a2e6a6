//! The lookup cache: one entry per service name, fed by the namespace watch
//! ([`crate::watcher`]), holding snapshots and publishing their changes to the membership hub.
//!
//! An entry keeps its last known hosts when the watch fails (stale-on-error) and records since
//! when they are stale.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use matchmaker_core::heartbeat::LiveTopic;
use matchmaker_core::{membership_changes, Error, MembershipHub, Result};
use tokio::sync::watch;

use crate::client::{ConsulClient, BACKEND};
use crate::naming::{META_HOST, META_NAMESPACE, META_TOPIC};
use crate::wire::ServiceEntry;

/// Live hosts per topic, as one service name's query last answered.
pub(crate) type Members = BTreeMap<String, BTreeSet<String>>;

/// What a cache entry holds.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// True once a query succeeded.
    pub loaded: bool,
    /// `X-Consul-Index` of the answer applied last.
    pub index: u64,
    /// Live hosts per topic (more than the entry's own topic only if service names collide).
    pub members: Arc<Members>,
    /// The entry's topic's hosts as lookups read them: built once per answer, shared.
    pub live: Arc<LiveTopic>,
    /// Since when the loop fails to refresh (the members are the last known ones).
    pub stale_since: Option<Instant>,
    /// The last failure, kept for a first lookup that cannot be answered.
    pub last_error: Option<String>,
}

/// The cache entry of one service name and the topic it serves.
pub(crate) struct TopicCache {
    pub name: String,
    pub topic: String,
    state: watch::Sender<Snapshot>,
}

/// What the loops share with the backend.
pub(crate) struct CacheContext {
    pub client: ConsulClient,
    pub namespace: String,
    pub blocking_wait: Duration,
    pub min_query_interval: Duration,
    /// Joins and leaves, published under `apply_lock`.
    pub hub: MembershipHub,
    /// Serialises applying answers so events come out in order (and snapshots see whole
    /// answers).
    apply_lock: Mutex<()>,
}

impl CacheContext {
    pub fn new(
        client: ConsulClient,
        namespace: String,
        blocking_wait: Duration,
        min_query_interval: Duration,
    ) -> Self {
        CacheContext {
            client,
            namespace,
            blocking_wait,
            min_query_interval,
            hub: MembershipHub::new(),
            apply_lock: Mutex::new(()),
        }
    }

    /// The lock answers are applied and membership snapshots are read under.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.apply_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live hosts per topic of our namespace in a `?passing` answer.
    pub fn members_of(&self, entries: &[ServiceEntry]) -> Members {
        let mut members = Members::new();
        for entry in entries {
            if entry.meta(META_NAMESPACE) != Some(self.namespace.as_str()) || !entry.is_passing() {
                continue;
            }
            if let (Some(topic), Some(host)) = (entry.meta(META_TOPIC), entry.meta(META_HOST)) {
                members
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(host.to_owned());
            }
        }
        members
    }

    /// Applies an answer with `index`; `force` accepts an index that went backwards.
    /// Returns false when the answer is older than what the cache holds.
    pub fn apply(&self, cache: &TopicCache, members: Members, index: u64, force: bool) -> bool {
        let _guard = self.lock();
        let current = cache.state.borrow().clone();
        if current.loaded && index < current.index && !force {
            return false;
        }
        // The checks the watch reads carry no metadata: each subscription reads it
        // (`crate::subscription`).
        let events = membership_changes(pairs(&current.members), pairs(&members), |_, _| {
            Arc::default()
        });
        for event in events {
            self.hub.publish(event);
        }
        // An answer for the namespace reaches every topic's cache: keep the snapshot (and the
        // routes built from it) of a topic whose hosts it did not change.
        let live =
            if current.loaded && current.members.get(&cache.topic) == members.get(&cache.topic) {
                current.live.clone()
            } else {
                let hosts = members.get(&cache.topic).into_iter().flatten();
                Arc::new(LiveTopic::new(&cache.topic, hosts.map(String::as_str)))
            };
        cache.state.send_replace(Snapshot {
            loaded: true,
            index,
            live,
            members: Arc::new(members),
            stale_since: None,
            last_error: None,
        });
        true
    }

    /// Records that `cache` could not be refreshed, keeping its hosts.
    pub fn mark_stale(&self, cache: &TopicCache, error: &Error) {
        let _guard = self.lock();
        cache.state.send_modify(|state| {
            state.stale_since.get_or_insert_with(Instant::now);
            state.last_error = Some(error.to_string());
        });
    }
}

impl TopicCache {
    pub fn new(name: String, topic: String) -> Arc<Self> {
        let empty = Snapshot {
            loaded: false,
            index: 0,
            members: Arc::default(),
            live: Arc::new(LiveTopic::new::<&str>(&topic, [])),
            stale_since: None,
            last_error: None,
        };
        Arc::new(TopicCache {
            name,
            topic,
            state: watch::channel(empty).0,
        })
    }

    pub fn snapshot(&self) -> Snapshot {
        self.state.borrow().clone()
    }

    /// The topic's hosts once the first answer arrived, copying nothing but an `Arc`.
    pub fn live_now(&self) -> Option<Arc<LiveTopic>> {
        let snapshot = self.state.borrow();
        snapshot.loaded.then(|| snapshot.live.clone())
    }

    /// Waits until `condition` holds for the cached snapshot, at most `bound`; true if it did.
    pub async fn wait_until(&self, bound: Duration, condition: impl Fn(&Snapshot) -> bool) -> bool {
        let mut receiver = self.state.subscribe();
        // The `Ref` that `wait_for` returns holds the channel's read lock: drop it at once
        // (borrowing again while a sender waits would deadlock).
        tokio::time::timeout(bound, receiver.wait_for(|state| condition(state)))
            .await
            .is_ok_and(|outcome| outcome.is_ok())
    }

    /// Waits for the first answer (at most `bound`); the snapshot then, or the failure that
    /// kept the first query from answering.
    pub async fn loaded(&self, bound: Duration) -> Result<Snapshot> {
        let mut receiver = self.state.subscribe();
        // Drop the read-locking `Ref` before borrowing again (see `wait_until`).
        // The first answer or the first failure, whichever comes first.
        let first_outcome = |state: &Snapshot| state.loaded || state.last_error.is_some();
        let waited = tokio::time::timeout(bound, receiver.wait_for(first_outcome))
            .await
            .map(|outcome| outcome.is_ok());
        let snapshot = self.snapshot();
        if snapshot.loaded {
            return Ok(snapshot);
        }
        let why = match (waited, &snapshot.last_error) {
            (_, Some(error)) => error.clone(),
            (Err(_), None) => format!("no answer for service {} within {bound:?}", self.name),
            (Ok(_), None) => "the lookup cache was closed".to_owned(),
        };
        Err(Error::unavailable(BACKEND, why))
    }
}

/// Every `(topic, host)` of `members`.
fn pairs(members: &Members) -> impl Iterator<Item = (&str, &str)> {
    members.iter().flat_map(|(topic, hosts)| {
        hosts
            .iter()
            .map(move |host| (topic.as_str(), host.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(pairs: &[(&str, &str)]) -> Members {
        let mut members = Members::new();
        for (topic, host) in pairs {
            members
                .entry((*topic).to_owned())
                .or_default()
                .insert((*host).to_owned());
        }
        members
    }

    #[test]
    fn an_answer_that_leaves_a_topic_unchanged_keeps_its_snapshot() {
        let config = crate::ConsulConfig::default();
        let client = ConsulClient::new(&config, crate::client::Lane::WRITES).unwrap();
        let context = CacheContext::new(client, "ns".into(), Duration::ZERO, Duration::ZERO);
        let cache = TopicCache::new("mm-ns--t".into(), "t".into());
        context.apply(&cache, members(&[("t", "a")]), 1, false);
        let first = cache.live_now().expect("loaded");
        context.apply(&cache, members(&[("t", "a"), ("u", "b")]), 2, false);
        assert!(
            Arc::ptr_eq(&first, &cache.live_now().unwrap()),
            "u changed, t did not"
        );
        context.apply(&cache, members(&[("t", "a"), ("t", "c")]), 3, false);
        let changed = cache.live_now().unwrap();
        assert_eq!(changed.len(), 2);
        assert!(!Arc::ptr_eq(&first, &changed));
    }
}
