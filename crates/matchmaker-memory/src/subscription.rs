//! Membership streams: joins and leaves of a registry, including leaves by expiry.
//!
//! Every change is broadcast by the registry while it holds its lock, so all subscribers see
//! the same order. Expiry needs a clock: each stream sleeps until the registry's earliest
//! possible expiry and then purges, which broadcasts the `Left` events to every subscriber.
//! A registration that gets an earlier expiry (a new one, or a shorter TTL) wakes the
//! sleepers so they re-arm their timer. A stream only runs while it is polled; it ends when
//! the registry is dropped, and keeps answering `None` after that.

use std::sync::{Arc, Weak};

use futures_util::stream::{self, StreamExt};
use matchmaker_core::{MembershipEvent, MembershipStream};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::registry::Inner;

struct Subscription {
    registry: Weak<Inner>,
    events: broadcast::Receiver<MembershipEvent>,
    deadlines: watch::Receiver<()>,
    topic: Option<String>,
}

/// A stream of the registry's joins and leaves, optionally of one topic.
pub(crate) fn subscribe(registry: &Arc<Inner>, topic: Option<&str>) -> MembershipStream {
    let subscription = Subscription {
        registry: Arc::downgrade(registry),
        events: registry.subscribe_events(),
        deadlines: registry.subscribe_deadlines(),
        topic: topic.map(str::to_owned),
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

impl Subscription {
    fn wants(&self, event: &MembershipEvent) -> bool {
        self.topic
            .as_deref()
            .is_none_or(|topic| event.topic() == topic)
    }

    /// The next event for this subscriber; `None` once the registry is gone.
    async fn next_event(&mut self) -> Option<MembershipEvent> {
        loop {
            match self.events.try_recv() {
                Ok(event) if self.wants(&event) => return Some(event),
                Ok(_) => continue,
                Err(TryRecvError::Lagged(missed)) => {
                    self.report_lag(missed);
                    continue;
                }
                Err(TryRecvError::Closed) => return None,
                Err(TryRecvError::Empty) => {}
            }
            // Mark the deadline signal seen before reading the deadline, so a change made in
            // between still wakes the select below.
            self.deadlines.borrow_and_update();
            let next_expiry = self.registry.upgrade()?.next_expiry();
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) if self.wants(&event) => return Some(event),
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => self.report_lag(missed),
                    Err(RecvError::Closed) => return None,
                },
                () = sleep_until(next_expiry) => {
                    // Purging broadcasts the expired registrations' `Left` events.
                    self.registry.upgrade()?.purge_expired();
                }
                changed = self.deadlines.changed() => changed.ok()?,
            }
        }
    }

    fn report_lag(&self, missed: u64) {
        tracing::warn!(
            backend = "memory",
            missed,
            "membership subscriber fell behind and lost events"
        );
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
