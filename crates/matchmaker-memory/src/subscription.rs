//! Membership streams: joins and leaves of a registry, including leaves by expiry.
//!
//! The registry publishes every change to its [`matchmaker_core::MembershipHub`] while it holds
//! its lock, and the hub gives each stream a snapshot first and a fresh one after a lag. Expiry
//! needs a clock: beside the hub's events, each stream runs a timer that sleeps until the
//! registry's earliest possible expiry and then purges, which publishes the `Left` events to
//! every subscriber. A registration that gets an earlier expiry (a new one, or a shorter TTL)
//! wakes the timers so they re-arm. A stream only runs while it is polled; it ends when the
//! registry is dropped, and keeps answering `None` after that.

use std::sync::{Arc, Weak};

use futures_util::stream::{self, StreamExt};
use matchmaker_core::{MembershipEvent, MembershipStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::registry::Inner;

/// A stream of the registry's membership, optionally of one topic.
pub(crate) fn subscribe(registry: &Arc<Inner>, topic: Option<&str>) -> MembershipStream {
    let reader = Arc::downgrade(registry);
    let changes = registry.hub.subscribe(topic, move |topic| {
        let snapshot = reader.upgrade().map(|registry| registry.snapshot(topic));
        async move { snapshot }
    });
    let timer = ExpiryTimer {
        registry: Arc::downgrade(registry),
        deadlines: registry.subscribe_deadlines(),
    };
    // The timer yields nothing; it only purges, which publishes to `changes`.
    let timer = stream::unfold(timer, |mut timer| async move {
        timer.run().await;
        None::<(MembershipEvent, ExpiryTimer)>
    });
    Box::pin(stream::select(changes, timer).fuse())
}

struct ExpiryTimer {
    registry: Weak<Inner>,
    deadlines: watch::Receiver<()>,
}

impl ExpiryTimer {
    /// Purges at every expiry until the registry is gone.
    async fn run(&mut self) {
        loop {
            // Mark the deadline signal seen before reading the deadline, so a change made in
            // between still wakes the select below.
            self.deadlines.borrow_and_update();
            let Some(next_expiry) = self
                .registry
                .upgrade()
                .map(|registry| registry.next_expiry())
            else {
                return;
            };
            tokio::select! {
                () = sleep_until(next_expiry) => {
                    // Purging publishes the expired registrations' `Left` events.
                    let Some(registry) = self.registry.upgrade() else { return };
                    registry.purge_expired();
                }
                changed = self.deadlines.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
