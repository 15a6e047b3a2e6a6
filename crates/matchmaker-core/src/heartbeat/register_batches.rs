//! Concurrent `register` calls share one bulk write: each joins a queue, and whoever flushes
//! hands everything queued to `backend_register_many` at once.
//!
//! 1000 concurrent registers thus cost a few bulk writes (etcd: transactions of 128 and one
//! keep-alive) instead of 1000 single ones, on every backend, and no caller holds a lock
//! across another's request: a caller whose registration a flush in progress took along only
//! waits for that flush's answer.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::registration_set::RegistrationSet;
use super::{HeartbeatBackend, Registration};
use crate::{Error, Result};

/// A queued registration and where its outcome goes.
type Queued = (Registration, oneshot::Sender<Result<()>>);

/// The registrations of single `register` calls waiting for a flush.
#[derive(Default)]
pub(crate) struct RegisterBatches {
    queued: Mutex<Vec<Queued>>,
    /// Held by the caller that flushes; the others wait for their answer.
    flushing: tokio::sync::Mutex<()>,
}

impl RegisterBatches {
    /// Writes `registration` through `backend`, in one bulk write with the concurrent callers'
    /// registrations. Each pair is written as `set` holds it when the batch leaves (the last
    /// metadata registered wins), and not at all if `set` no longer holds it.
    pub(crate) async fn register<B: HeartbeatBackend + ?Sized>(
        &self,
        backend: &B,
        set: &Mutex<RegistrationSet>,
        registration: Registration,
    ) -> Result<()> {
        let (sender, answer) = oneshot::channel();
        self.queued().push((registration, sender));
        {
            let _flushing = self.flushing.lock().await;
            // Empty if the flush before this one took our registration along.
            let batch = std::mem::take(&mut *self.queued());
            if !batch.is_empty() {
                flush(backend, set, batch).await;
            }
        }
        answer.await.unwrap_or_else(|_| {
            let message = "the bulk write carrying this registration was abandoned";
            Err(Error::unavailable(backend.name(), message))
        })
    }

    fn queued(&self) -> MutexGuard<'_, Vec<Queued>> {
        self.queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes `batch` in one `backend_register_many` and answers every caller with its outcome.
async fn flush<B: HeartbeatBackend + ?Sized>(
    backend: &B,
    set: &Mutex<RegistrationSet>,
    batch: Vec<Queued>,
) {
    let (registrations, senders): (Vec<Registration>, Vec<_>) = batch.into_iter().unzip();
    let registrations = as_held(set, registrations);
    let outcome = match registrations.is_empty() {
        true => Ok(()),
        false => backend.backend_register_many(&registrations).await,
    };
    for sender in senders {
        // A caller that went away no longer needs its answer.
        let _ = sender.send(outcome.as_ref().map(drop).map_err(Error::shared_copy));
    }
}

/// Each pair of `registrations` once, sorted, as `set` holds it now (with the metadata it was
/// last registered with); pairs `set` no longer holds are left out.
pub(crate) fn as_held(
    set: &Mutex<RegistrationSet>,
    registrations: impl IntoIterator<Item = Registration>,
) -> Vec<Registration> {
    let distinct: BTreeSet<Registration> = registrations.into_iter().collect();
    let set = set.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    distinct
        .iter()
        .filter_map(|registration| set.get(registration).cloned())
        .collect()
}
