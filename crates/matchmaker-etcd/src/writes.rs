//! Writing registrations: single puts, bulk puts in bounded transactions, lease recovery.
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};
use matchmaker_core::{telemetry, Metadata, Registration, Result};

use crate::backend::EtcdBackend;
use crate::cache::CachedEntry;
use crate::errors::{from_client, is_lease_not_found, BACKEND};
use crate::lease::KeepAlive;
use crate::retry;
use crate::wire::RegistrationRecord;

/// etcd's default `--max-txn-ops`: a bigger transaction is rejected.
pub(crate) const MAX_TXN_OPS: usize = 128;

/// A write that failed: the lease was gone, or anything else (already mapped).
pub(crate) enum WriteError {
    LeaseNotFound(i64),
    Other(matchmaker_core::Error),
}

impl EtcdBackend {
    /// The registration's metadata over the config's process-wide `metadata` (the
    /// registration's entries win).
    fn metadata_of(&self, registration: &Registration) -> Option<std::sync::Arc<Metadata>> {
        if registration.metadata.is_empty() {
            return (!self.metadata.is_empty()).then(|| std::sync::Arc::new(self.metadata.clone()));
        }
        if self.metadata.is_empty() {
            return Some(registration.metadata.clone());
        }
        let mut merged = self.metadata.clone();
        merged.extend(
            registration
                .metadata
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        Some(std::sync::Arc::new(merged))
    }

    fn value(&self, registration: &Registration) -> Vec<u8> {
        let metadata = self.metadata_of(registration);
        RegistrationRecord::new(
            &registration.topic,
            &registration.host,
            &self.instance,
            metadata.as_deref().unwrap_or(&Metadata::new()),
        )
        .to_json()
    }

    fn put_op(&self, registration: &Registration, lease: i64) -> TxnOp {
        TxnOp::put(
            self.keys.key(&registration.topic, &registration.host),
            self.value(registration),
            Some(PutOptions::new().with_lease(lease)),
        )
    }

    fn remember_put(&self, registration: &Registration, lease: i64, revision: i64) {
        let entry = CachedEntry {
            lease,
            instance: Some(self.instance.clone()),
            mod_revision: revision,
            metadata: self.metadata_of(registration),
        };
        self.cache
            .apply_put(&registration.topic, &registration.host, entry);
    }

    /// Puts `registrations` with the current lease, in transactions of at most 128 puts.
    pub(crate) async fn put_all(
        &self,
        registrations: &[&Registration],
    ) -> std::result::Result<(), WriteError> {
        let lease = self.lease.id_or_grant().await.map_err(WriteError::Other)?;
        for chunk in registrations.chunks(MAX_TXN_OPS) {
            let operations: Vec<TxnOp> = chunk.iter().map(|r| self.put_op(r, lease)).collect();
            let txn = Txn::new().and_then(operations);
            let response = retry::idempotent(self.request_timeout, || {
                let (mut client, txn) = (self.client.clone(), txn.clone());
                async move { client.txn(txn).await }
            })
            .await
            .map_err(|error| classify(error, lease))?;
            let revision = response.header().map_or(0, |header| header.revision());
            for registration in chunk {
                self.remember_put(registration, lease, revision);
            }
        }
        Ok(())
    }

    /// Creates the key of `registration` only if it does not exist; true if it was created.
    pub(crate) async fn put_if_missing(
        &self,
        registration: &Registration,
    ) -> std::result::Result<bool, WriteError> {
        let lease = self.lease.id_or_grant().await.map_err(WriteError::Other)?;
        let key = self.keys.key(&registration.topic, &registration.host);
        let txn = Txn::new()
            .when([Compare::version(key, CompareOp::Equal, 0)])
            .and_then([self.put_op(registration, lease)]);
        let response = retry::idempotent(self.request_timeout, || {
            let (mut client, txn) = (self.client.clone(), txn.clone());
            async move { client.txn(txn).await }
        })
        .await
        .map_err(|error| classify(error, lease))?;
        if response.succeeded() {
            let revision = response.header().map_or(0, |header| header.revision());
            self.remember_put(registration, lease, revision);
        }
        Ok(response.succeeded())
    }

    /// Sends one keep-alive; a lost lease is replaced and everything re-put.
    pub(crate) async fn keep_lease_alive(&self) -> Result<()> {
        match self.lease.keep_alive().await? {
            KeepAlive::Alive => Ok(()),
            KeepAlive::Lost(lost) => self.recover_lease_exclusively(lost).await,
        }
    }

    /// [`EtcdBackend::recover_lease`] under the exclusive write gate.
    pub(crate) async fn recover_lease_exclusively(&self, lost: i64) -> Result<()> {
        let _exclusive = self.write_gate.write().await;
        self.recover_lease(lost).await
    }

    /// Grants a new lease for the lost one and re-puts every registration of the matchmaker's
    /// set.
    ///
    /// Callers hold the write gate exclusively, so recovery never races a register or
    /// unregister.
    pub(crate) async fn recover_lease(&self, lost: i64) -> Result<()> {
        let Some(lease) = self.lease.replace(lost).await? else {
            // Another caller already replaced it and re-put everything.
            return Ok(());
        };
        let registered = self.registrations.snapshot();
        tracing::warn!(
            backend = BACKEND,
            lost_lease = lost,
            new_lease = lease,
            registrations = registered.len(),
            "etcd lease lost (expired, revoked, or etcd lost its data): re-registering"
        );
        let all: Vec<&Registration> = registered.iter().collect();
        match self.put_all(&all).await {
            Ok(()) => {
                telemetry::reregistered(BACKEND, all.len() as u64);
                Ok(())
            }
            Err(WriteError::Other(error)) => Err(error),
            // The brand-new lease vanished at once: the next heartbeat tries again.
            Err(WriteError::LeaseNotFound(_)) => Err(crate::errors::unavailable(
                "the lease granted to replace a lost one vanished immediately",
            )),
        }
    }

    /// Re-creates those of `registrations` (the beat's snapshot of the matchmaker's set) that
    /// the cache says are missing (deleted from outside). No request at all when nothing is
    /// missing.
    pub(crate) async fn heal_missing_keys(&self, registrations: &[Registration]) -> Result<()> {
        if !self.cache.status().connected {
            // A stale cache cannot tell what is missing; the re-list after reconnecting will.
            return Ok(());
        }
        let _exclusive = self.write_gate.write().await;
        let lease = self.lease.id();
        // Nothing removed from the cache and the same lease since the last clean pass:
        // nothing can be missing, so a beat over 10k keys skips the scan altogether.
        let mark = (self.cache.removals(), lease);
        if *self.healed_at() == Some(mark) {
            return Ok(());
        }
        // Only the missing ones are copied: a beat over 10k present keys copies nothing.
        let missing: Vec<Registration> = registrations
            .iter()
            .filter(|registration| {
                self.cache.needs_put(
                    &registration.topic,
                    &registration.host,
                    lease,
                    &self.instance,
                )
            })
            .cloned()
            .collect();
        let missing: Vec<&Registration> = missing.iter().collect();
        if missing.is_empty() {
            *self.healed_at() = Some(mark);
            return Ok(());
        }
        match self.put_all(&missing).await {
            Ok(()) => {
                *self.healed_at() = Some(mark);
                tracing::warn!(
                    backend = BACKEND,
                    count = missing.len(),
                    "re-created registrations that vanished from etcd"
                );
                telemetry::reregistered(BACKEND, missing.len() as u64);
                Ok(())
            }
            Err(WriteError::LeaseNotFound(lost)) => self.recover_lease(lost).await,
            Err(WriteError::Other(error)) => Err(error),
        }
    }
}

fn classify(error: etcd_client::Error, lease: i64) -> WriteError {
    if is_lease_not_found(&error) {
        WriteError::LeaseNotFound(lease)
    } else {
        WriteError::Other(from_client(error))
    }
}

impl EtcdBackend {
    /// `(cache removals, lease)` when the healing check last found nothing missing.
    pub(crate) fn healed_at(&self) -> std::sync::MutexGuard<'_, Option<(u64, i64)>> {
        self.healed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
