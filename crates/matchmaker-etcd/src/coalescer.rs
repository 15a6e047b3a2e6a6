//! Concurrent `register` calls share transactions: each single put joins a queue, and whoever
//! flushes writes everything queued in transactions of at most 128 puts.
//!
//! 1000 concurrent registers thus cost about 8 transactions instead of 1000, with no lock held
//! by a caller waiting for another's request: a caller whose put was taken by a flush in
//! progress only waits for that flush's answer.

use std::sync::Mutex;

use matchmaker_core::{Error, Registration};
use tokio::sync::oneshot;

use crate::backend::EtcdBackend;
use crate::errors::BACKEND;
use crate::writes::WriteError;

/// A queued put and where its outcome goes.
type Queued = (Registration, oneshot::Sender<Result<(), WriteError>>);

/// The queue of single puts waiting for a flush.
#[derive(Default)]
pub(crate) struct PutQueue {
    queued: Mutex<Vec<Queued>>,
    /// Held by the caller that flushes; the others wait on their answer.
    flushing: tokio::sync::Mutex<()>,
}

impl PutQueue {
    fn take(&self) -> Vec<Queued> {
        std::mem::take(
            &mut *self
                .queued
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl EtcdBackend {
    /// Puts `registration` with this process's lease, in a transaction shared with the
    /// concurrent callers' puts.
    pub(crate) async fn put_coalesced(
        &self,
        registration: &Registration,
    ) -> Result<(), WriteError> {
        let queue = &self.put_queue;
        let (sender, answer) = oneshot::channel();
        queue
            .queued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push((registration.clone(), sender));
        {
            let _flushing = queue.flushing.lock().await;
            // Empty if the flush before this one took our put along.
            let batch = queue.take();
            if !batch.is_empty() {
                self.flush(batch).await;
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(WriteError::Other(Error::unavailable(
                BACKEND,
                "the transaction carrying this put was abandoned",
            )))
        })
    }

    /// Writes `batch` in transactions of at most 128 puts and answers every caller with its
    /// transaction's outcome.
    async fn flush(&self, batch: Vec<Queued>) {
        let mut batch = batch;
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(crate::writes::MAX_TXN_OPS));
            let registrations: Vec<&Registration> = batch.iter().map(|(r, _)| r).collect();
            let outcome = self.put_all(&registrations).await;
            for (_, sender) in batch {
                // A caller that went away no longer needs its answer.
                let _ = sender.send(share(&outcome));
            }
            batch = rest;
        }
    }
}

/// One transaction's outcome, for each of the callers whose puts it carried.
fn share(outcome: &Result<(), WriteError>) -> Result<(), WriteError> {
    match outcome {
        Ok(()) => Ok(()),
        Err(WriteError::LeaseNotFound(lease)) => Err(WriteError::LeaseNotFound(*lease)),
        Err(WriteError::Other(error)) => Err(WriteError::Other(copy_of(error))),
    }
}

/// The same kind of error with the same message (errors carry boxed sources, so they do not
/// clone).
fn copy_of(error: &Error) -> Error {
    match error {
        Error::Unavailable { backend, source } => Error::unavailable(backend, source.to_string()),
        Error::Unauthorized { backend, message } => Error::Unauthorized {
            backend,
            message: message.clone(),
        },
        Error::Backend { backend, source } => Error::backend(backend, source.to_string()),
        other => Error::backend(BACKEND, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_failure_keeps_its_kind_and_message() {
        let unavailable = Err(WriteError::Other(Error::unavailable(BACKEND, "no leader")));
        match share(&unavailable) {
            Err(WriteError::Other(error @ Error::Unavailable { .. })) => {
                assert_eq!(error.to_string(), "etcd is unavailable: no leader");
            }
            _ => panic!("expected Unavailable"),
        }
        assert!(matches!(
            share(&Err(WriteError::LeaseNotFound(7))),
            Err(WriteError::LeaseNotFound(7))
        ));
    }
}
