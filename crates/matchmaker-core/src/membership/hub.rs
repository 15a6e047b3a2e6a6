//! [`MembershipHub`]: the one way every backend hands out membership streams, so all of them
//! follow one policy: a stream starts with a snapshot, then yields the changes made after it
//! (no gap, no repeat), and a subscriber that falls [`SUBSCRIBER_BUFFER`] events behind is told
//! so with a fresh snapshot instead of silently missing events.
//!
//! How a backend keeps the "no gap, no repeat" promise: it changes its membership and calls
//! [`MembershipHub::publish`] under one lock, and builds a [`MembershipSnapshot`] under that
//! same lock. Each event carries a sequence number and each snapshot the number of the last
//! event it already shows; the stream skips events up to that number.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{MembershipEvent, MembershipStream};
use crate::Registration;

/// How many events a subscriber may fall behind before it is sent a fresh snapshot instead.
pub const SUBSCRIBER_BUFFER: usize = 4096;

/// One registry's broadcast of joins and leaves; see the module docs for the locking rule.
pub struct MembershipHub {
    sender: broadcast::Sender<Sequenced>,
    published: AtomicU64,
}

#[derive(Debug, Clone)]
struct Sequenced {
    sequence: u64,
    event: MembershipEvent,
}

/// The members of a topic (or of all topics) as a backend read them, marked with the last event
/// published before the read ([`MembershipHub::snapshot`]).
#[derive(Debug, Clone)]
pub struct MembershipSnapshot {
    members: Vec<Registration>,
    mark: u64,
}

impl MembershipSnapshot {
    /// The members, sorted by topic and host.
    pub fn members(&self) -> &[Registration] {
        &self.members
    }

    /// Replaces each member's metadata with what `metadata_of` gives it (kept when `None`): for
    /// a backend whose membership view carries no metadata and reads it after the snapshot.
    pub fn fill_metadata(
        &mut self,
        mut metadata_of: impl FnMut(&Registration) -> Option<std::sync::Arc<crate::Metadata>>,
    ) {
        for member in &mut self.members {
            if let Some(metadata) = metadata_of(member) {
                member.metadata = metadata;
            }
        }
    }
}

impl Default for MembershipHub {
    fn default() -> Self {
        Self::new()
    }
}

impl MembershipHub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        MembershipHub {
            sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
            published: AtomicU64::new(0),
        }
    }

    /// Sends a join or leave to every stream. Call it under the lock the change was made under.
    pub fn publish(&self, event: MembershipEvent) {
        let sequence = self.published.fetch_add(1, Ordering::SeqCst) + 1;
        // No subscriber is not an error: events are only for whoever listens.
        let _ = self.sender.send(Sequenced { sequence, event });
    }

    /// `members` (sorted here) as a snapshot; read them and call this under the lock changes
    /// are published under, so the snapshot shows exactly the events published before it.
    pub fn snapshot(&self, mut members: Vec<Registration>) -> MembershipSnapshot {
        members.sort();
        MembershipSnapshot {
            members,
            mark: self.published.load(Ordering::SeqCst),
        }
    }

    /// How many streams are open.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// A stream of `topic`'s membership (all topics when `None`): `read` gives the first
    /// snapshot, and again after the subscriber lagged; `None` from it ends the stream (the
    /// registry is gone). The stream also ends once the hub is dropped.
    pub fn subscribe<Read, Reading>(&self, topic: Option<&str>, read: Read) -> MembershipStream
    where
        Read: FnMut(Option<&str>) -> Reading + Send + 'static,
        Reading: Future<Output = Option<MembershipSnapshot>> + Send,
    {
        // Taken before the first snapshot is read, so nothing published after the read is lost.
        let receiver = self.sender.subscribe();
        let subscription = Subscription {
            receiver,
            topic: topic.map(str::to_owned),
            read,
            mark: None,
            lagged: false,
        };
        Box::pin(
            stream::unfold(subscription, |mut subscription| async move {
                let event = subscription.next_event().await?;
                Some((event, subscription))
            })
            // Fused: polling after the end keeps answering `None` instead of panicking.
            .fuse(),
        )
    }
}

struct Subscription<Read> {
    receiver: broadcast::Receiver<Sequenced>,
    topic: Option<String>,
    read: Read,
    /// The last event the latest snapshot shows; `None` until a snapshot is due.
    mark: Option<u64>,
    lagged: bool,
}

impl<Read, Reading> Subscription<Read>
where
    Read: FnMut(Option<&str>) -> Reading,
    Reading: Future<Output = Option<MembershipSnapshot>>,
{
    async fn next_event(&mut self) -> Option<MembershipEvent> {
        loop {
            let Some(mark) = self.mark else {
                let snapshot = (self.read)(self.topic.as_deref()).await?;
                self.mark = Some(snapshot.mark);
                return Some(MembershipEvent::Snapshot {
                    members: snapshot.members,
                    lagged: std::mem::take(&mut self.lagged),
                });
            };
            match self.receiver.recv().await {
                Ok(Sequenced { sequence, event }) => {
                    let wanted = self
                        .topic
                        .as_deref()
                        .is_none_or(|topic| event.topic() == Some(topic));
                    if sequence > mark && wanted {
                        return Some(event);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        buffer = SUBSCRIBER_BUFFER,
                        "membership subscriber fell behind; sending it a fresh snapshot"
                    );
                    // A receiver at the newest event, taken before the new snapshot is read.
                    self.receiver = self.receiver.resubscribe();
                    self.mark = None;
                    self.lagged = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures_util::FutureExt;

    use super::*;

    /// A registry of pairs whose changes and snapshots share one lock, as the docs ask.
    #[derive(Default)]
    struct Registry {
        hub: MembershipHub,
        pairs: Mutex<std::collections::BTreeSet<(String, String)>>,
    }

    impl Registry {
        fn join(&self, topic: &str, host: &str) {
            let mut pairs = self.pairs.lock().unwrap();
            if pairs.insert((topic.into(), host.into())) {
                self.hub
                    .publish(MembershipEvent::joined(topic, host, Default::default()));
            }
        }

        fn leave(&self, topic: &str, host: &str) {
            let mut pairs = self.pairs.lock().unwrap();
            if pairs.remove(&(topic.into(), host.into())) {
                self.hub.publish(MembershipEvent::left(topic, host));
            }
        }

        fn read(&self, topic: Option<&str>) -> MembershipSnapshot {
            let pairs = self.pairs.lock().unwrap();
            let members = pairs
                .iter()
                .filter(|(t, _)| topic.is_none_or(|topic| topic == t))
                .map(|(t, h)| Registration::new(t, h))
                .collect();
            self.hub.snapshot(members)
        }

        fn subscribe(self: &Arc<Self>, topic: Option<&str>) -> MembershipStream {
            let registry = Arc::clone(self);
            self.hub.subscribe(topic, move |topic| {
                let snapshot = registry.read(topic);
                async move { Some(snapshot) }
            })
        }
    }

    fn next(stream: &mut MembershipStream) -> Option<MembershipEvent> {
        stream.next().now_or_never().flatten()
    }

    fn hosts(event: Option<MembershipEvent>) -> Vec<String> {
        match event {
            Some(MembershipEvent::Snapshot { members, .. }) => {
                members.into_iter().map(|member| member.host).collect()
            }
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    #[test]
    fn a_stream_starts_with_the_membership_then_yields_only_later_changes_of_its_topic() {
        let registry = Arc::new(Registry::default());
        registry.join("t", "b");
        registry.join("t", "a");
        registry.join("u", "x");
        let mut stream = registry.subscribe(Some("t"));
        // Published after the subscription was made but before its snapshot was read: the
        // snapshot shows it, so the stream must not repeat it.
        registry.join("t", "c");
        assert_eq!(hosts(next(&mut stream)), ["a", "b", "c"]);
        registry.leave("t", "a");
        registry.join("u", "y");
        assert_eq!(next(&mut stream), Some(MembershipEvent::left("t", "a")));
        assert_eq!(next(&mut stream), None, "nothing else is pending");
    }

    #[test]
    fn a_subscriber_that_lags_gets_a_fresh_snapshot_marked_lagged() {
        let registry = Arc::new(Registry::default());
        let mut stream = registry.subscribe(None);
        assert!(matches!(
            next(&mut stream),
            Some(MembershipEvent::Snapshot { lagged: false, .. })
        ));
        for index in 0..SUBSCRIBER_BUFFER + 10 {
            registry.join("t", &format!("h{index:05}"));
        }
        registry.leave("t", "h00000");
        match next(&mut stream) {
            Some(MembershipEvent::Snapshot { members, lagged }) => {
                assert!(lagged);
                assert_eq!(members.len(), SUBSCRIBER_BUFFER + 9);
                assert_eq!(members[0].host, "h00001");
            }
            other => panic!("expected a lagged snapshot, got {other:?}"),
        }
        registry.leave("t", "h00001");
        assert_eq!(
            next(&mut stream),
            Some(MembershipEvent::left("t", "h00001"))
        );
    }

    #[test]
    fn a_stream_ends_when_the_hub_is_dropped_or_the_registry_is_gone() {
        let hub = MembershipHub::new();
        let mut ended = hub.subscribe(None, |_| async { None });
        assert_eq!(next(&mut ended), None);
        let mut stream = hub.subscribe(None, |_| async {
            Some(MembershipHub::new().snapshot(vec![]))
        });
        assert!(next(&mut stream).is_some());
        assert_eq!(hub.subscribers(), 1);
        drop(hub);
        assert_eq!(next(&mut stream), None);
        assert_eq!(next(&mut stream), None, "fused");
    }
}
