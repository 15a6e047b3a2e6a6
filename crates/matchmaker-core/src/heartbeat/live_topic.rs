//! [`LiveTopic`]: one topic's live hosts at one moment, with the routes lookups hand out, and
//! [`LiveTopics`], the per-topic memo a registry backend keeps beside its membership state.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use crate::key::{join, FANOUT_PREFIX};
use crate::{Route, Routes};

/// The live hosts of one topic (sorted, without duplicates) as a registry backend saw them at
/// one moment, immutable and shared by every lookup until the membership changes.
///
/// The routes are built at most once per snapshot, on the first lookup that needs them: a
/// bare-topic lookup clones the one chosen route and a fanout clones the `Arc` of the list, so
/// neither costs more at 1000 hosts than at 1.
#[derive(Debug)]
pub struct LiveTopic {
    topic: Box<str>,
    hosts: Box<[Arc<str>]>,
    direct: OnceLock<Box<[Route]>>,
    fanout: OnceLock<Arc<[Route]>>,
}

impl LiveTopic {
    /// The snapshot of `topic` served by `hosts`, taken in the order given: a registry's
    /// sorted, duplicate-free host set (its lookups hand them out in that order).
    pub fn new<H: Into<Arc<str>>>(topic: &str, hosts: impl IntoIterator<Item = H>) -> Self {
        let hosts: Vec<Arc<str>> = hosts.into_iter().map(Into::into).collect();
        Self::from_hosts(topic, hosts)
    }

    /// The snapshot of `topic` served by `hosts` in any order, sorted and deduplicated here.
    pub fn sorted<H: Into<Arc<str>>>(topic: &str, hosts: impl IntoIterator<Item = H>) -> Self {
        let mut hosts: Vec<Arc<str>> = hosts.into_iter().map(Into::into).collect();
        hosts.sort_unstable();
        hosts.dedup();
        Self::from_hosts(topic, hosts)
    }

    fn from_hosts(topic: &str, hosts: Vec<Arc<str>>) -> Self {
        LiveTopic {
            topic: topic.into(),
            hosts: hosts.into(),
            direct: OnceLock::new(),
            fanout: OnceLock::new(),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The live hosts, in lookup order (sorted).
    pub fn hosts(&self) -> &[Arc<str>] {
        &self.hosts
    }

    /// How many hosts are live.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no host is live.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// The bare-topic route `("t.h", h)` to the host at `index` of [`Self::hosts`], if any.
    pub fn route_to(&self, index: usize) -> Option<Route> {
        let routes = self.direct.get_or_init(|| {
            self.hosts
                .iter()
                .map(|host| Route::new(join(&self.topic, host), host.clone()))
                .collect()
        });
        routes.get(index).cloned()
    }

    /// Every host as the fanout route `("fanout~t.h", h)`, in host order, shared.
    pub fn fanout(&self) -> Routes {
        let routes = self.fanout.get_or_init(|| {
            let key = format!("{FANOUT_PREFIX}{}", self.topic);
            self.hosts
                .iter()
                .map(|host| Route::new(join(&key, host), host.clone()))
                .collect()
        });
        Routes::shared(routes.clone())
    }
}

/// The [`LiveTopic`] of each topic looked up since its last change: what a backend's
/// [`super::HostDirectory`] answers from. The backend keeps it under the same lock as its
/// membership state and calls [`Self::changed`] (or [`Self::clear`]) whenever a topic's host
/// set changes, so a snapshot is never older than the state it was built from.
#[derive(Debug, Default)]
pub struct LiveTopics {
    built: HashMap<Box<str>, Arc<LiveTopic>>,
}

impl LiveTopics {
    /// No snapshot built yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot of `topic`, built from `hosts()` (sorted, no duplicates) if the topic
    /// changed since the last one.
    /// A topic with no host is answered with an empty snapshot that is not kept, so lookups of
    /// unknown topics leave nothing behind.
    pub fn get_or_build<'a, I>(&mut self, topic: &str, hosts: impl FnOnce() -> I) -> Arc<LiveTopic>
    where
        I: IntoIterator<Item = &'a str>,
    {
        if let Some(live) = self.built.get(topic) {
            return live.clone();
        }
        let live = Arc::new(LiveTopic::new(topic, hosts()));
        if !live.is_empty() {
            self.built.insert(topic.into(), live.clone());
        }
        live
    }

    /// [`Self::get_or_build`] from the topic's map of hosts (its keys, sorted), if it has one:
    /// how a backend that keeps `topic -> host -> record` maps answers.
    pub fn get_or_build_from<V>(
        &mut self,
        topic: &str,
        hosts: Option<&BTreeMap<String, V>>,
    ) -> Arc<LiveTopic> {
        self.get_or_build(topic, || {
            hosts
                .into_iter()
                .flat_map(BTreeMap::keys)
                .map(String::as_str)
        })
    }

    /// `topic`'s hosts changed: its next lookup builds a new snapshot.
    pub fn changed(&mut self, topic: &str) {
        self.built.remove(topic);
    }

    /// Every topic may have changed (a re-list): every next lookup builds a new snapshot.
    pub fn clear(&mut self) {
        self.built.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_sorted_hosts() {
        let live = LiveTopic::sorted("t", ["b", "a", "b"]);
        assert_eq!(live.len(), 2);
        assert_eq!(live.route_to(0), Some(Route::new("t.a", "a")));
        assert_eq!(live.route_to(2), None);
        assert_eq!(
            live.fanout(),
            [Route::new("fanout~t.a", "a"), Route::new("fanout~t.b", "b")]
        );
    }

    #[test]
    fn a_snapshot_is_reused_until_its_topic_changes() {
        let mut topics = LiveTopics::new();
        let first = topics.get_or_build("t", || ["a"]);
        let again = topics.get_or_build("t", || -> [&str; 0] { panic!("rebuilt") });
        assert!(Arc::ptr_eq(&first, &again));
        topics.changed("t");
        let rebuilt = topics.get_or_build("t", || ["a", "b"]);
        assert_eq!(rebuilt.len(), 2);
        assert_eq!(first.len(), 1, "a handed-out snapshot never changes");
    }

    #[test]
    fn unknown_topics_leave_nothing_behind() {
        let mut topics = LiveTopics::new();
        assert!(topics.get_or_build("nobody", || []).is_empty());
        assert!(topics.built.is_empty());
    }
}
