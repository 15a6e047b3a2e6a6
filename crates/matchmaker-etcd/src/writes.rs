//! Writing registrations: bulk puts in bounded transactions, create-if-missing, the lease
//! they are attached to, and finding the keys etcd lost.
use etcd_client::{Compare, CompareOp, PutOptions, Txn, TxnOp};
use matchmaker_core::heartbeat::Beat;
use matchmaker_core::{Metadata, Registration, Result};

use crate::backend::EtcdBackend;
use crate::cache::CachedEntry;
use crate::errors::{from_client, is_lease_not_found};
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

    /// Puts `registrations` and sends one keep-alive, so each stays alive for a full TTL. A
    /// lease found lost on the way is replaced and the puts made again, once.
    pub(crate) async fn put_and_keep_alive(&self, registrations: &[Registration]) -> Result<()> {
        let all: Vec<&Registration> = registrations.iter().collect();
        for _ in 0..2 {
            match self.put_all(&all).await {
                Ok(()) => {}
                Err(WriteError::LeaseNotFound(lost)) => {
                    self.replace_lease(lost).await?;
                    continue;
                }
                Err(WriteError::Other(error)) => return Err(error),
            }
            match self.lease.keep_alive().await? {
                KeepAlive::Alive => return Ok(()),
                KeepAlive::Lost(lost) => self.replace_lease(lost).await?,
            }
        }
        Err(crate::errors::unavailable(
            "the etcd lease vanished twice in a row",
        ))
    }

    /// Sends one keep-alive; a lost lease is replaced (what was on it is restored by the
    /// matchmaker, which the next heartbeat tells).
    pub(crate) async fn keep_lease_alive(&self) -> Result<()> {
        match self.lease.keep_alive().await? {
            KeepAlive::Alive => Ok(()),
            KeepAlive::Lost(lost) => self.replace_lease(lost).await,
        }
    }

    /// Grants a new lease in place of the lost one (unless another caller already did). The
    /// keys on the lost one are gone; the next heartbeat reports them all lost.
    pub(crate) async fn replace_lease(&self, lost: i64) -> Result<()> {
        if let Some(lease) = self.lease.replace(lost).await? {
            tracing::warn!(
                backend = crate::errors::BACKEND,
                lost_lease = lost,
                new_lease = lease,
                "etcd lease lost (expired, revoked, or etcd lost its data)"
            );
        }
        Ok(())
    }

    /// What etcd lost of `registrations` (the beat's snapshot of the matchmaker's set): the
    /// keys the cache does not hold on the current lease (deleted from outside, or on a lease
    /// that was lost). No request; no scan at all while nothing was removed from the cache and
    /// the lease is the one of the last pass that found nothing missing, so a beat over 10k
    /// keys costs one comparison.
    pub(crate) fn lost_keys(&self, registrations: &[Registration]) -> Beat {
        let lease = self.lease.id();
        let mark = (self.cache.removals(), lease);
        let last = *self.healed_at();
        // A stale cache cannot tell what was deleted (the re-list after reconnecting will), but
        // a replaced lease is known without it.
        let stale = !self.cache.status().connected && last.is_some_and(|(_, at)| at == lease);
        if last == Some(mark) || stale {
            return Beat::Alive;
        }
        // Only the missing ones are copied: a beat over 10k present keys copies nothing.
        let lost: Vec<Registration> = registrations
            .iter()
            .filter(|registration| {
                let (topic, host) = (&registration.topic, &registration.host);
                self.cache.needs_put(topic, host, lease, &self.instance)
            })
            .cloned()
            .collect();
        if lost.is_empty() {
            *self.healed_at() = Some(mark);
            return Beat::Alive;
        }
        Beat::Lost(lost)
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
    /// `(cache removals, lease)` when the last scan for lost keys found none.
    pub(crate) fn healed_at(&self) -> std::sync::MutexGuard<'_, Option<(u64, i64)>> {
        self.healed_at
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
