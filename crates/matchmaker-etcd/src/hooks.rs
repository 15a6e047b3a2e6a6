//! `HeartbeatBackend` and `HostDirectory` for [`EtcdBackend`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    telemetry, HeartbeatBackend, HostDirectory, MembershipStream, Registration, RegistrationInfo,
    Result,
};
use tracing::Instrument;

use crate::backend::EtcdBackend;
use crate::errors::{from_client, BACKEND};
use crate::writes::WriteError;

#[async_trait]
impl HostDirectory for EtcdBackend {
    /// Reads the watch-fed cache: never waits, no network access.
    fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        self.cache_hits.increment(1);
        Some(Ok(self.cache.live_topic(topic)))
    }

    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        self.cache_hits.increment(1);
        Ok(self.cache.live_topic(topic))
    }
}

#[async_trait]
impl HeartbeatBackend for EtcdBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    /// Puts every key with this process's lease in transactions of at most 128 operations,
    /// then sends ONE keep-alive, so each stays alive for a full TTL (the matchmaker batches
    /// concurrent registers into one call).
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        let span = tracing::debug_span!("etcd_register", registrations = registrations.len());
        let outcome = self
            .put_and_keep_alive(registrations)
            .instrument(span)
            .await;
        tracing::debug!(
            registrations = registrations.len(),
            ok = outcome.is_ok(),
            "registered in etcd"
        );
        outcome
    }

    /// Deletes the key (whoever wrote it). If etcd cannot be reached the error is returned,
    /// and the matchmaker retries the removal on every heartbeat until it succeeds.
    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        self.delete(&registration.topic, &registration.host).await
    }

    /// One keep-alive (shared with concurrent callers: a keep-alive sent after this call
    /// began serves it), then, unless the cache holds the key on the current lease (after a
    /// register it does, so the ack is the keep-alive alone), "create the key if it does not
    /// exist" in one transaction: a plain put would take over a key another instance wrote.
    /// A key deleted from outside whose delete the watch has not delivered yet is re-created
    /// by the next heartbeat instead.
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        self.keep_lease_alive().await?;
        if self.holds_on_current_lease(registration) {
            return Ok(());
        }
        let created = match self.put_if_missing(registration).await {
            Err(WriteError::LeaseNotFound(lost)) => {
                self.replace_lease(lost).await?;
                self.put_if_missing(registration).await
            }
            other => other,
        };
        match created {
            Ok(true) => {
                telemetry::reregistered(BACKEND, 1);
                tracing::info!(
                    backend = BACKEND,
                    topic = %registration.topic,
                    host = %registration.host,
                    "ack_alive re-created a vanished registration"
                );
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(WriteError::LeaseNotFound(_)) => Err(crate::errors::unavailable(
                "the etcd lease vanished twice in a row",
            )),
            Err(WriteError::Other(error)) => Err(error),
        }
    }

    /// Reads the cache (what lookups see), not etcd.
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        Ok(self.cache.lease_of(topic, host).is_some())
    }

    /// Deletes the key, whoever wrote it. If it is one of this process's registrations, the
    /// next heartbeat reports it lost and the matchmaker re-creates it.
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.delete(topic, host).await
    }

    /// Revokes the lease, which deletes every key on it in one request, deletes any of
    /// `registrations` still listed (a key put on an older lease), and waits until the
    /// watch-fed cache, which every instance's cache follows, shows them gone.
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        self.lease.revoke_and_forget().await?;
        let still_listed = |backend: &EtcdBackend| -> Vec<Registration> {
            registrations
                .iter()
                .filter(|r| backend.cache.lease_of(&r.topic, &r.host).is_some())
                .cloned()
                .collect()
        };
        // The revoke's deletes reach the watch within milliseconds.
        let settle = tokio::time::Instant::now() + Duration::from_millis(500);
        while !still_listed(self).is_empty() && tokio::time::Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for registration in still_listed(self) {
            self.delete(&registration.topic, &registration.host).await?;
        }
        tracing::info!(
            backend = BACKEND,
            registrations = registrations.len(),
            "etcd drained"
        );
        Ok(())
    }

    /// The records expire with the lease, at most one TTL after its last keep-alive; the
    /// matchmaker forgot them, so nothing re-creates them, and there is nothing else to do.
    async fn leave_to_expire(&self, _registrations: &[Registration]) -> Result<()> {
        Ok(())
    }

    /// ONE keep-alive for all registrations (a lost lease is replaced), then reports the keys
    /// the cache does not hold on the current lease: all of them after a lost lease, those
    /// deleted from outside otherwise. The matchmaker restores them.
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        let span = tracing::debug_span!(
            "etcd_heartbeat",
            lease = self.lease.id(),
            registrations = registrations.len()
        );
        async {
            self.keep_lease_alive().await?;
            Ok(self.lost_keys(registrations))
        }
        .instrument(span)
        .await
    }

    /// Every registration in the cache, with the time left on its lease.
    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        let entries = self.cache.entries(topic);
        let mut ttl_by_lease: BTreeMap<i64, Option<Duration>> = BTreeMap::new();
        for (_, _, entry) in &entries {
            if entry.lease == 0 || ttl_by_lease.contains_key(&entry.lease) {
                continue;
            }
            let ttl = self
                .client
                .clone()
                .lease_time_to_live(entry.lease, None)
                .await
                .map_err(from_client)?
                .ttl();
            let ttl = u64::try_from(ttl).ok().map(Duration::from_secs);
            ttl_by_lease.insert(entry.lease, ttl);
        }
        Ok(entries
            .into_iter()
            .map(|(topic, host, entry)| {
                let ttl_left = ttl_by_lease.get(&entry.lease).copied().flatten();
                RegistrationInfo {
                    topic,
                    host,
                    alive: entry.lease == 0 || ttl_left.is_some(),
                    ttl_left,
                    instance: entry.instance.map(|name| name.to_string()),
                    metadata: entry
                        .metadata
                        .map(|metadata| (*metadata).clone())
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The current membership, then joins and leaves, fed by the same watch as the cache.
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        Ok(self.cache.subscribe(topic))
    }
}

impl EtcdBackend {
    /// True when the cache holds `registration`'s key on the current lease.
    fn holds_on_current_lease(&self, registration: &Registration) -> bool {
        let lease = self.lease.id();
        lease != 0 && self.cache.lease_of(&registration.topic, &registration.host) == Some(lease)
    }

    pub(crate) async fn delete(&self, topic: &str, host: &str) -> Result<()> {
        let key = self.keys.key(topic, host);
        let response = crate::retry::idempotent(self.request_timeout, || {
            let (mut client, key) = (self.client.clone(), key.clone());
            async move { client.delete(key, None).await }
        })
        .await
        .map_err(from_client)?;
        let revision = response.header().map_or(0, |header| header.revision());
        self.cache.apply_delete(topic, host, revision);
        Ok(())
    }
}
