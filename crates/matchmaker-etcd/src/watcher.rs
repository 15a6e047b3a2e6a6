//! `PrefixWatcher`: lists the prefix, then follows ONE watch that feeds the cache.
//!
//! On a broken stream (etcd restarted, connection lost) or a cancelled watch (compacted
//! history) it re-lists and re-watches from the list's revision + 1, with a backoff of
//! 100 ms doubling to 5 s (jittered), cut short when the member keeper sees members answer
//! with a leader again. Meanwhile the cache keeps its last known state and is marked stale.
//! The re-list after every break also catches an etcd that lost its data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, WatchOptions, WatchResponse};
use matchmaker_core::telemetry;
use tokio::sync::Notify;

use crate::cache::RegistrationCache;
use crate::errors::BACKEND;
use crate::listing::{decode, list_prefix};
use crate::naming::KeySpace;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Follows the prefix until the task is aborted (when the backend is dropped).
pub(crate) struct PrefixWatcher {
    pub(crate) client: Client,
    pub(crate) keys: KeySpace,
    pub(crate) cache: RegistrationCache,
    /// Notified by the member keeper when members come back: retry now, not after the backoff.
    pub(crate) recovered: Arc<Notify>,
}

/// Why a watch stream ended.
enum Ended {
    /// Compacted or cancelled by the server.
    Cancelled(String),
    /// The stream failed or closed (connection lost, etcd restarted).
    Broken(String),
}

impl PrefixWatcher {
    /// Runs forever from `revision` (the revision of the list the cache was filled from).
    ///
    /// Cancellation: abort the task; the cache keeps its contents and stays readable.
    pub(crate) async fn run(self, mut revision: i64) {
        let mut backoff = FIRST_BACKOFF;
        let mut first = true;
        loop {
            if !first {
                match list_prefix(&self.client, &self.keys).await {
                    Ok((entries, listed_at)) => {
                        self.cache.replace_all(entries, listed_at);
                        revision = listed_at;
                    }
                    Err(error) => {
                        self.mark_stale(&error.to_string(), revision);
                        backoff = self.back_off(backoff).await;
                        continue;
                    }
                }
            }
            let ended = self.follow(&mut revision, &mut backoff, first).await;
            first = false;
            let reason = match ended {
                Ended::Cancelled(reason) => {
                    tracing::warn!(backend = BACKEND, %reason, revision, "etcd cancelled the watch; re-listing the prefix");
                    reason
                }
                Ended::Broken(reason) => reason,
            };
            self.mark_stale(&reason, revision);
            backoff = self.back_off(backoff).await;
        }
    }

    /// Sleeps the jittered `delay`, or less if members come back meanwhile; returns the next
    /// delay (the first one again after a recovery).
    async fn back_off(&self, delay: Duration) -> Duration {
        tokio::select! {
            next = sleep_with_jitter(delay) => next,
            () = self.recovered.notified() => FIRST_BACKOFF,
        }
    }

    /// Opens the watch from `revision + 1` and applies its events until it ends.
    async fn follow(&self, revision: &mut i64, backoff: &mut Duration, first: bool) -> Ended {
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(*revision + 1);
        let mut stream = match self
            .client
            .clone()
            .watch(self.keys.prefix(), Some(options))
            .await
        {
            Ok(stream) => stream,
            Err(error) => return Ended::Broken(error.to_string()),
        };
        loop {
            let response = match stream.message().await {
                Ok(Some(response)) => response,
                Ok(None) => return Ended::Broken("the watch stream closed".into()),
                Err(error) => return Ended::Broken(error.to_string()),
            };
            if response.created() {
                *backoff = FIRST_BACKOFF;
                self.mark_fresh(first, *revision);
            }
            if response.canceled() {
                return Ended::Cancelled(cancel_reason(&response));
            }
            self.apply(&response, revision);
        }
    }

    fn apply(&self, response: &WatchResponse, revision: &mut i64) {
        for event in response.events() {
            let Some(kv) = event.kv() else { continue };
            *revision = (*revision).max(kv.mod_revision());
            let Some((topic, host)) = self.keys.parse(kv.key()) else {
                continue;
            };
            match event.event_type() {
                EventType::Put => {
                    if let Some((_, _, entry)) = decode(&self.keys, kv) {
                        self.cache.apply_put(&topic, &host, entry);
                    }
                }
                EventType::Delete => self.cache.apply_delete(&topic, &host, kv.mod_revision()),
            }
        }
        self.cache.set_revision(*revision);
    }

    fn mark_stale(&self, reason: &str, revision: i64) {
        if self.cache.set_connected(false) {
            tracing::warn!(
                backend = BACKEND,
                %reason,
                revision,
                "etcd watch lost: lookups are served from the last known state until it is back"
            );
        } else {
            tracing::debug!(backend = BACKEND, %reason, "etcd still unreachable");
        }
    }

    fn mark_fresh(&self, first: bool, revision: i64) {
        let stale_since = self.cache.status().stale_since;
        if self.cache.set_connected(true) && !first {
            telemetry::watch_restarted(BACKEND);
            tracing::info!(
                backend = BACKEND,
                revision,
                stale_for = ?stale_since.map(|since| Instant::now() - since),
                "etcd watch re-established"
            );
        }
    }
}

fn cancel_reason(response: &WatchResponse) -> String {
    if response.compact_revision() > 0 {
        format!(
            "history compacted up to revision {}",
            response.compact_revision()
        )
    } else if response.cancel_reason().is_empty() {
        "cancelled by the server".to_owned()
    } else {
        response.cancel_reason().to_owned()
    }
}

/// Sleeps 50..100 % of `delay` and returns the next delay (doubled, at most 5 s).
async fn sleep_with_jitter(delay: Duration) -> Duration {
    let jittered = delay.mul_f64(0.5 + fastrand::f64() * 0.5);
    tokio::time::sleep(jittered).await;
    (delay * 2).min(MAX_BACKOFF)
}

#[cfg(test)]
#[path = "watcher_tests.rs"]
mod tests;
