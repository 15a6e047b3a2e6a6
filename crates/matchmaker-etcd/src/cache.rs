//! `RegistrationCache`: the in-memory copy of the prefix that lookups read.
//!
//! Fed by one initial list and then by the watch, plus local updates right after this
//! process's own writes (so a lookup right after `register` sees it). Every entry remembers
//! the etcd revision that last changed it, so a late watch event never undoes a newer local
//! update. Errors never empty it: only a successful list or delete events remove entries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use matchmaker_core::heartbeat::LiveTopic;
use matchmaker_core::{
    CacheStatus, MembershipEvent, MembershipHub, MembershipStream, MembershipTable,
};
use tokio::sync::watch;

use crate::instance_names::InstanceNames;

/// One registration as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedEntry {
    /// The lease the key is attached to (0: none).
    pub(crate) lease: i64,
    /// The writer's instance id, when the value parsed: one copy per writer, shared by its
    /// entries ([`InstanceNames`]).
    pub(crate) instance: Option<Arc<str>>,
    /// Revision of the last change to this key.
    pub(crate) mod_revision: i64,
    /// The registration's metadata, when it has any (None costs one word per entry).
    pub(crate) metadata: Option<std::sync::Arc<matchmaker_core::Metadata>>,
}

/// The cache's freshness; `topics` is counted when asked.
#[derive(Debug, Clone, Copy)]
struct Freshness {
    connected: bool,
    stale_since: Option<Instant>,
    /// The etcd revision the cache reflects.
    revision: i64,
}

struct State {
    /// The registrations, and the snapshots lookups read.
    table: MembershipTable<CachedEntry>,
    status: Freshness,
    /// Joins and leaves, published under this state's lock.
    hub: MembershipHub,
    /// The writers' instance ids the entries share.
    instances: InstanceNames,
    /// How many entries were ever removed: while it stands still, nothing can have gone
    /// missing (what the heartbeat's healing check relies on to skip its scan).
    removals: u64,
}

/// The cache; cheap to clone (shared state).
#[derive(Clone)]
pub(crate) struct RegistrationCache {
    state: Arc<Mutex<State>>,
    connected: Arc<watch::Sender<bool>>,
}

impl RegistrationCache {
    pub(crate) fn new() -> Self {
        RegistrationCache {
            state: Arc::new(Mutex::new(State {
                table: MembershipTable::new(),
                status: Freshness {
                    connected: false,
                    stale_since: Some(Instant::now()),
                    revision: 0,
                },
                hub: MembershipHub::new(),
                instances: InstanceNames::new(),
                removals: 0,
            })),
            connected: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Waits until the watch is established, at most `limit`; true if it is.
    pub(crate) async fn wait_connected(&self, limit: std::time::Duration) -> bool {
        let mut receiver = self.connected.subscribe();
        let wait = receiver.wait_for(|connected| *connected);
        let outcome = tokio::time::timeout(limit, wait).await;
        matches!(outcome, Ok(Ok(_)))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live hosts of `topic`: the shared snapshot, rebuilt only after a change.
    pub(crate) fn live_topic(&self, topic: &str) -> Arc<LiveTopic> {
        self.state().table.live_topic(topic)
    }

    /// The sorted hosts of `topic`, copied (what tests compare).
    #[cfg(test)]
    pub(crate) fn hosts(&self, topic: &str) -> Vec<String> {
        let live = self.live_topic(topic);
        live.hosts().iter().map(|host| host.to_string()).collect()
    }

    /// True if the key of `(topic, host)` needs writing again by `instance`, whose lease is
    /// now `lease`: it is not cached, or it is ours on an older lease that is going away.
    /// Reads under the lock, copying nothing (a heartbeat asks it of every registration).
    pub(crate) fn needs_put(&self, topic: &str, host: &str, lease: i64, instance: &str) -> bool {
        match self.state().table.get(topic, host) {
            None => true,
            Some(entry) => entry.lease != lease && entry.instance.as_deref() == Some(instance),
        }
    }

    /// How many times entries were removed so far (see `State::removals`).
    pub(crate) fn removals(&self) -> u64 {
        self.state().removals
    }

    /// The lease the cached key of `(topic, host)` is on, if it is cached; copies nothing
    /// (what `register`, `is_alive` and `drain` ask).
    pub(crate) fn lease_of(&self, topic: &str, host: &str) -> Option<i64> {
        Some(self.state().table.get(topic, host)?.lease)
    }

    /// Every `(topic, host, entry)`, optionally of one topic, sorted.
    pub(crate) fn entries(&self, topic: Option<&str>) -> Vec<(String, String, CachedEntry)> {
        let state = self.state();
        let entries = state.table.iter(topic);
        entries
            .map(|(topic, host, entry)| (topic.to_owned(), host.to_owned(), entry.clone()))
            .collect()
    }

    pub(crate) fn status(&self) -> CacheStatus {
        let state = self.state();
        CacheStatus {
            connected: state.status.connected,
            stale_since: state.status.stale_since,
            position: u64::try_from(state.status.revision).unwrap_or(0),
            topics: state.table.topic_count(),
        }
    }

    /// Records a put at `entry.mod_revision`, unless a newer change is already known.
    pub(crate) fn apply_put(&self, topic: &str, host: &str, mut entry: CachedEntry) {
        let mut state = self.state();
        entry.instance = entry.instance.map(|name| state.instances.share(name));
        let existing = state.table.get(topic, host);
        if existing.is_some_and(|existing| existing.mod_revision > entry.mod_revision) {
            return;
        }
        // Only a join carries metadata (a re-put of a known key allocates nothing for it).
        let joined = existing.is_none().then(|| metadata_of(&entry));
        state.table.insert(topic, host, entry);
        if let Some(metadata) = joined {
            state
                .hub
                .publish(MembershipEvent::joined(topic, host, metadata));
        }
    }

    /// Records a delete at `revision`, unless the entry changed after it.
    pub(crate) fn apply_delete(&self, topic: &str, host: &str, revision: i64) {
        let mut state = self.state();
        let newer = |existing: &CachedEntry| existing.mod_revision > revision;
        if state.table.get(topic, host).is_none_or(newer) {
            return;
        }
        state.table.remove(topic, host);
        state.removals += 1;
        state.hub.publish(MembershipEvent::left(topic, host));
    }

    /// Replaces the contents with a successful list at `revision`, sending the differences.
    /// Entries changed locally after `revision` are kept (the watch will confirm them).
    pub(crate) fn replace_all(&self, listed: Vec<(String, String, CachedEntry)>, revision: i64) {
        let mut state = self.state();
        let mut fresh: BTreeMap<String, BTreeMap<String, CachedEntry>> = BTreeMap::new();
        for (topic, host, mut entry) in listed {
            entry.instance = entry.instance.map(|name| state.instances.share(name));
            fresh.entry(topic).or_default().insert(host, entry);
        }
        // Entries changed locally after `revision` are kept: the watch will confirm them.
        for (topic, host, entry) in state.table.iter(None) {
            if entry.mod_revision > revision {
                let kept = fresh.entry(topic.to_owned()).or_default();
                kept.entry(host.to_owned()).or_insert_with(|| entry.clone());
            }
        }
        let events = state.table.replace_all(fresh, metadata_of);
        // Every list may have dropped entries (leaves, or keys of ours that vanished).
        state.removals += 1;
        state.status.revision = state.status.revision.max(revision);
        for event in events {
            state.hub.publish(event);
        }
    }

    /// Advances the revision the cache reflects.
    pub(crate) fn set_revision(&self, revision: i64) {
        let mut state = self.state();
        state.status.revision = state.status.revision.max(revision);
    }

    /// Marks the watch as up (fresh) or down (stale since now); true if it changed.
    pub(crate) fn set_connected(&self, connected: bool) -> bool {
        let mut state = self.state();
        if state.status.connected == connected {
            return false;
        }
        state.status.connected = connected;
        state.status.stale_since = if connected {
            None
        } else {
            Some(Instant::now())
        };
        self.connected.send_replace(connected);
        true
    }

    /// A stream of the cached membership, optionally of one topic: a snapshot, then joins and
    /// leaves. It ends when the cache is dropped.
    pub(crate) fn subscribe(&self, topic: Option<&str>) -> MembershipStream {
        let cache = Arc::downgrade(&self.state);
        self.state().hub.subscribe(topic, move |topic| {
            let snapshot = cache.upgrade().map(|state| {
                let state = state
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                state.hub.snapshot(state.table.members(topic, metadata_of))
            });
            async move { snapshot }
        })
    }
}

fn metadata_of(entry: &CachedEntry) -> Arc<matchmaker_core::Metadata> {
    entry.metadata.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mod_revision: i64) -> CachedEntry {
        CachedEntry {
            lease: 1,
            instance: None,
            mod_revision,
            metadata: None,
        }
    }

    #[test]
    fn a_late_delete_never_undoes_a_newer_put() {
        let cache = RegistrationCache::new();
        cache.apply_put("t", "h", entry(10));
        cache.apply_delete("t", "h", 8);
        assert_eq!(cache.hosts("t"), ["h"]);
        cache.apply_delete("t", "h", 11);
        assert!(cache.hosts("t").is_empty());
    }

    #[test]
    fn a_successful_empty_list_removes_everything_and_reports_leaves() {
        let cache = RegistrationCache::new();
        cache.apply_put("t", "b", entry(2));
        cache.apply_put("t", "a", entry(3));
        assert_eq!(cache.hosts("t"), ["a", "b"]);
        let mut events = cache.subscribe(Some("t"));
        let next = |events: &mut MembershipStream| {
            futures_util::FutureExt::now_or_never(futures_util::StreamExt::next(events)).flatten()
        };
        let first = next(&mut events);
        assert!(
            matches!(&first, Some(MembershipEvent::Snapshot { members, .. }) if members.len() == 2),
            "{first:?}"
        );
        cache.replace_all(Vec::new(), 5);
        assert!(cache.hosts("t").is_empty());
        let leave = next(&mut events);
        assert!(
            matches!(leave, Some(MembershipEvent::Left { .. })),
            "{leave:?}"
        );
    }

    #[test]
    fn a_list_keeps_local_changes_newer_than_its_revision() {
        let cache = RegistrationCache::new();
        cache.apply_put("t", "mine", entry(9));
        cache.replace_all(vec![("t".into(), "other".into(), entry(4))], 7);
        assert_eq!(cache.hosts("t"), ["mine", "other"]);
        assert_eq!(cache.status().position, 7);
        assert_eq!(cache.status().topics, 1);
    }

    #[tokio::test]
    async fn waiting_for_the_watch_returns_once_it_is_connected() {
        let cache = RegistrationCache::new();
        let limit = std::time::Duration::from_secs(30);
        let waiter = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.wait_connected(limit).await })
        };
        tokio::task::yield_now().await;
        cache.set_connected(true);
        assert!(waiter.await.unwrap());
        assert!(
            !RegistrationCache::new()
                .wait_connected(std::time::Duration::from_millis(10))
                .await
        );
    }

    #[test]
    fn staleness_is_visible_while_disconnected() {
        let cache = RegistrationCache::new();
        assert!(cache.set_connected(true));
        assert_eq!(cache.status().stale_since, None);
        assert!(cache.set_connected(false));
        assert!(!cache.set_connected(false));
        assert!(cache.status().stale_since.is_some());
    }
}
