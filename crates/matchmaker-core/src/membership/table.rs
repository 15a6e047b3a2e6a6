//! [`MembershipTable`]: who serves which topic, one value per registration, with the shared
//! snapshots lookups read: the membership cache the etcd and memory backends both keep.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use super::{membership_changes, MembershipEvent};
use crate::heartbeat::{LiveTopic, LiveTopics};
use crate::{Metadata, Registration};

/// Topic → host → `V` (what a backend keeps of a registration: an etcd lease and revision, a
/// memory record's expiry), sorted, and each looked-up topic's [`LiveTopic`], rebuilt only
/// after that topic's hosts change. The backend holds it under the lock it publishes its
/// membership events under; the table says which calls are joins and leaves.
#[derive(Debug)]
pub struct MembershipTable<V> {
    topics: BTreeMap<String, BTreeMap<String, V>>,
    live: LiveTopics,
}

impl<V> Default for MembershipTable<V> {
    fn default() -> Self {
        MembershipTable {
            topics: BTreeMap::new(),
            live: LiveTopics::new(),
        }
    }
}

impl<V> MembershipTable<V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `(topic, host)`.
    pub fn get(&self, topic: &str, host: &str) -> Option<&V> {
        self.topics.get(topic)?.get(host)
    }

    /// The value of `(topic, host)`, to change in place (no membership change).
    pub fn get_mut(&mut self, topic: &str, host: &str) -> Option<&mut V> {
        self.topics.get_mut(topic)?.get_mut(host)
    }

    /// True when `host` serves `topic`.
    pub fn contains(&self, topic: &str, host: &str) -> bool {
        self.get(topic, host).is_some()
    }

    /// Sets the value of `(topic, host)`; true when the pair is new (a join).
    pub fn insert(&mut self, topic: &str, host: &str, value: V) -> bool {
        let hosts = self.topics.entry(topic.to_owned()).or_default();
        let joined = hosts.insert(host.to_owned(), value).is_none();
        if joined {
            self.live.changed(topic);
        }
        joined
    }

    /// Removes `(topic, host)`; its value when it was there (a leave).
    pub fn remove(&mut self, topic: &str, host: &str) -> Option<V> {
        let hosts = self.topics.get_mut(topic)?;
        let removed = hosts.remove(host)?;
        if hosts.is_empty() {
            self.topics.remove(topic);
        }
        self.live.changed(topic);
        Some(removed)
    }

    /// Keeps the registrations `keep` accepts; calls `removed` for each of the others (the
    /// leaves), in order.
    pub fn retain(
        &mut self,
        mut keep: impl FnMut(&str, &str, &mut V) -> bool,
        mut removed: impl FnMut(&str, &str, &V),
    ) {
        let MembershipTable { topics, live } = self;
        topics.retain(|topic, hosts| {
            let before = hosts.len();
            hosts.retain(|host, value| {
                let kept = keep(topic, host, value);
                if !kept {
                    removed(topic, host, value);
                }
                kept
            });
            if hosts.len() != before {
                live.changed(topic);
            }
            !hosts.is_empty()
        });
    }

    /// Replaces every registration by `fresh` (a whole new view: a re-list); the joins and
    /// leaves between the two, a join carrying `metadata_of` its value.
    pub fn replace_all(
        &mut self,
        fresh: BTreeMap<String, BTreeMap<String, V>>,
        metadata_of: impl Fn(&V) -> Arc<Metadata>,
    ) -> Vec<MembershipEvent> {
        let events = membership_changes(pairs(&self.topics), pairs(&fresh), |topic, host| {
            metadata_of(&fresh[topic][host])
        });
        self.topics = fresh;
        self.live.clear();
        events
    }

    /// The live hosts of `topic`: the shared snapshot, rebuilt only after a change.
    pub fn live_topic(&mut self, topic: &str) -> Arc<LiveTopic> {
        self.live.get_or_build_from(topic, self.topics.get(topic))
    }

    /// Every `(topic, host, value)`, optionally of one topic, sorted by topic then host.
    pub fn iter<'a>(
        &'a self,
        topic: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a V)> + 'a {
        // One topic is looked up, not searched for among all of them.
        let selected = match topic {
            Some(topic) => (Bound::Included(topic), Bound::Included(topic)),
            None => (Bound::Unbounded, Bound::Unbounded),
        };
        self.topics
            .range::<str, _>(selected)
            .flat_map(|(topic, hosts)| {
                hosts
                    .iter()
                    .map(move |(host, value)| (topic.as_str(), host.as_str(), value))
            })
    }

    /// The registrations of `topic` (of every topic with `None`), each with `metadata_of` its
    /// value: the members of a membership snapshot.
    pub fn members(
        &self,
        topic: Option<&str>,
        metadata_of: impl Fn(&V) -> Arc<Metadata>,
    ) -> Vec<Registration> {
        self.iter(topic)
            .map(|(topic, host, value)| Registration {
                topic: topic.to_owned(),
                host: host.to_owned(),
                metadata: metadata_of(value),
            })
            .collect()
    }

    /// How many topics have at least one host.
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// How many registrations there are.
    pub fn len(&self) -> usize {
        self.topics.values().map(BTreeMap::len).sum()
    }

    /// True when no topic has a host.
    pub fn is_empty(&self) -> bool {
        self.topics.is_empty()
    }
}

/// Every `(topic, host)` of `topics`.
fn pairs<V>(topics: &BTreeMap<String, BTreeMap<String, V>>) -> impl Iterator<Item = (&str, &str)> {
    topics.iter().flat_map(|(topic, hosts)| {
        hosts
            .keys()
            .map(move |host| (topic.as_str(), host.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_leaves_change_the_topics_snapshot_and_nothing_else_does() {
        let mut table = MembershipTable::new();
        assert!(table.insert("t", "b", 1));
        assert!(table.insert("t", "a", 2));
        let first = table.live_topic("t");
        assert_eq!(first.len(), 2);
        assert!(!table.insert("t", "a", 3), "a new value is no join");
        *table.get_mut("t", "b").unwrap() = 4;
        assert!(Arc::ptr_eq(&first, &table.live_topic("t")));
        assert_eq!(table.remove("t", "a"), Some(3));
        assert_eq!(table.remove("t", "a"), None);
        assert_eq!(table.live_topic("t").len(), 1);
        let mut left = Vec::new();
        table.retain(
            |_, _, value| *value != 4,
            |t, h, _| left.push((t.to_owned(), h.to_owned())),
        );
        assert_eq!(left, [("t".to_owned(), "b".to_owned())]);
        assert!(table.is_empty() && table.live_topic("t").is_empty());
    }

    #[test]
    fn replacing_everything_reports_the_differences() {
        let mut table = MembershipTable::new();
        table.insert("t", "a", 1);
        table.insert("t", "b", 2);
        let fresh = BTreeMap::from([(
            "t".to_owned(),
            BTreeMap::from([("b".to_owned(), 2), ("c".to_owned(), 3)]),
        )]);
        let events = table.replace_all(fresh, |_| Arc::default());
        assert_eq!(
            events,
            [
                MembershipEvent::left("t", "a"),
                MembershipEvent::joined("t", "c", Arc::default()),
            ]
        );
        let hosts: Vec<(&str, &str)> = table.iter(None).map(|(t, h, _)| (t, h)).collect();
        assert_eq!(hosts, [("t", "b"), ("t", "c")]);
        assert_eq!((table.len(), table.topic_count()), (2, 1));
        assert_eq!(table.members(Some("u"), |_| Arc::default()), []);
    }
}
