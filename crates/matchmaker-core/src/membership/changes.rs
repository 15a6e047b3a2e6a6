//! The joins and leaves between two whole memberships: what a backend publishes when it
//! replaces its view at once (etcd's re-list, a Consul answer).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::MembershipEvent;
use crate::Metadata;

/// The events that turn membership `before` into `after` (each given as `(topic, host)`
/// pairs): topic by topic in order, its leaves, then its joins, each sorted by host. A join
/// carries the metadata `metadata_of(topic, host)` gives.
///
/// ```
/// use matchmaker_core::{membership_changes, MembershipEvent};
/// let before = [("t", "a"), ("t", "b")];
/// let after = [("t", "b"), ("t", "c")];
/// let events = membership_changes(before, after, |_, _| Default::default());
/// assert_eq!(
///     events,
///     [
///         MembershipEvent::left("t", "a"),
///         MembershipEvent::joined("t", "c", Default::default()),
///     ]
/// );
/// ```
pub fn membership_changes<'a>(
    before: impl IntoIterator<Item = (&'a str, &'a str)>,
    after: impl IntoIterator<Item = (&'a str, &'a str)>,
    metadata_of: impl Fn(&str, &str) -> Arc<Metadata>,
) -> Vec<MembershipEvent> {
    let (before, after) = (by_topic(before), by_topic(after));
    let empty = BTreeSet::new();
    let topics: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    let mut events = Vec::new();
    for topic in topics {
        let was = before.get(topic).unwrap_or(&empty);
        let is = after.get(topic).unwrap_or(&empty);
        events.extend(
            was.difference(is)
                .map(|host| MembershipEvent::left(topic, *host)),
        );
        events.extend(
            is.difference(was)
                .map(|host| MembershipEvent::joined(topic, *host, metadata_of(topic, host))),
        );
    }
    events
}

fn by_topic<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut topics: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (topic, host) in pairs {
        topics.entry(topic).or_default().insert(host);
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_come_topic_by_topic_leaves_first_and_joins_carry_metadata() {
        let before = [("t", "a"), ("t", "b"), ("v", "x")];
        let after = [("u", "a"), ("t", "c"), ("t", "b")];
        let zone = Arc::new(Metadata::from([("zone".to_owned(), "eu".to_owned())]));
        let events = membership_changes(before, after, |topic, _| match topic {
            "u" => zone.clone(),
            _ => Arc::default(),
        });
        assert_eq!(
            events,
            [
                MembershipEvent::left("t", "a"),
                MembershipEvent::joined("t", "c", Arc::default()),
                MembershipEvent::joined("u", "a", zone.clone()),
                MembershipEvent::left("v", "x"),
            ]
        );
        assert!(membership_changes(after, after, |_, _| Arc::default()).is_empty());
    }
}
