//! `EtcdBackend`: the connection, the lease, the cache and the watch task of one process.

use std::collections::BTreeMap;

use etcd_client::Client;
use matchmaker_core::Result;
use tokio::task::JoinHandle;

use crate::cache::{CachedEntry, RegistrationCache};
use crate::config::EtcdConfig;
use crate::connection::connect_client;
use crate::errors::BACKEND;
use crate::lease::LeaseKeeper;
use crate::listing::list_prefix;
use crate::naming::KeySpace;
use crate::watcher::PrefixWatcher;
use matchmaker_core::{telemetry, CacheStatus};

/// The etcd registry behind an [`crate::EtcdMatchMaker`]: implements the core's
/// `HeartbeatBackend` and `HostDirectory`.
///
/// # Behaviour
/// - One lease per backend, granted by its first registration; every key of this process is attached to it,
///   so a heartbeat is ONE keep-alive on a long-lived stream, whatever the number of keys.
/// - A lost lease (expired during a pause, revoked, etcd lost its data) is detected by the
///   next keep-alive or write and replaced by a new one, with one warning; the heartbeat then
///   reports every registration lost and the matchmaker re-puts them, in transactions of at
///   most 128 operations.
/// - A key of ours deleted from outside is reported lost by the next heartbeat, and the
///   matchmaker re-creates it; the cache tells which keys are missing, so a steady-state
///   heartbeat costs no extra request.
/// - Lookups (`live_hosts`, `is_alive`) read the watch-fed cache and never touch the network;
///   this process's own writes update the cache at once.
/// - While etcd is unreachable the cache keeps the last known state; see
///   [`EtcdBackend::cache_status`].
/// - Dropping the backend aborts its watch task and closes its streams; its keys stay until
///   the lease expires (at most one TTL later).
pub struct EtcdBackend {
    pub(crate) client: Client,
    pub(crate) keys: KeySpace,
    pub(crate) cache: RegistrationCache,
    pub(crate) lease: LeaseKeeper,
    pub(crate) instance: std::sync::Arc<str>,
    pub(crate) metadata: BTreeMap<String, String>,
    /// `(cache removals, lease)` at the last scan for lost keys that found none.
    pub(crate) healed_at: std::sync::Mutex<Option<(u64, i64)>>,
    /// The budget of one request, retry included (see `retry`).
    pub(crate) request_timeout: std::time::Duration,
    /// `matchmaker_cache_hits_total` of etcd, resolved once (every lookup counts one).
    pub(crate) cache_hits: telemetry::Counter,
    watcher: JoinHandle<()>,
    /// With several endpoints: keeps the client's balancer to the members that answer.
    member_keeper: Option<JoinHandle<()>>,
}

impl EtcdBackend {
    /// Connects, lists the prefix into the cache and starts the watch task. The lease is granted
    /// by the first registration, so a backend that only looks up leaves no lease behind.
    ///
    /// Must be called within a tokio runtime. Fails with `InvalidConfig` for a bad config,
    /// `Unauthorized` for refused credentials and `Unavailable` when etcd cannot be reached.
    pub async fn connect(config: &EtcdConfig) -> Result<Self> {
        config.validate()?;
        let keys = KeySpace::new(&config.prefix)?;
        let recovered = std::sync::Arc::new(tokio::sync::Notify::new());
        let (client, member_keeper) = connect_client(config, recovered.clone()).await?;
        let lease = LeaseKeeper::new(client.clone(), config.ttl_seconds(), config.request_timeout);
        let cache = RegistrationCache::new();
        let (entries, revision) = list_within(&client, &keys, config.connect_timeout).await?;
        cache.replace_all(entries, revision);
        let watcher = PrefixWatcher {
            client: client.clone(),
            keys: keys.clone(),
            cache: cache.clone(),
            recovered,
        };
        let watcher = tokio::spawn(watcher.run(revision));
        // Return with the watch established when etcd allows, so `cache_status` is fresh;
        // the task keeps retrying in the background otherwise.
        if !cache.wait_connected(config.request_timeout).await {
            tracing::warn!(
                backend = BACKEND,
                "etcd watch not established yet; retrying"
            );
        }
        let instance = format!("{}-{:08x}", std::process::id(), fastrand::u32(..));
        tracing::info!(
            backend = BACKEND,
            endpoints = ?config.endpoints,
            prefix = %config.prefix,
            %instance,
            "connected to etcd"
        );
        Ok(EtcdBackend {
            client,
            keys,
            cache,
            lease,
            instance: instance.into(),
            metadata: config.metadata.clone(),
            healed_at: std::sync::Mutex::new(None),
            request_timeout: config.request_timeout,
            cache_hits: telemetry::counter_of(telemetry::CACHE_HITS, BACKEND),
            watcher,
            member_keeper,
        })
    }

    /// Whether lookups are fresh: watch connected, or stale since when, and the revision.
    pub fn cache_status(&self) -> CacheStatus {
        self.cache.status()
    }

    /// The id of this backend instance, stored in every value it writes.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The id of the lease this backend's keys are attached to (changes after a lease loss);
    /// 0 before the first registration.
    pub fn lease_id(&self) -> i64 {
        self.lease.id()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// Revokes the lease now, so every key of this process disappears at once instead of
    /// one TTL later (for a graceful shutdown). A later heartbeat or write grants a new one.
    pub async fn revoke_lease(&self) -> Result<()> {
        self.lease.revoke().await
    }
}

/// The first listing of the prefix, retried while etcd says it is briefly unable (a leader
/// election right after a member died: "leader changed", "no leader"), up to `bound`.
async fn list_within(
    client: &Client,
    keys: &KeySpace,
    bound: std::time::Duration,
) -> Result<(Vec<(String, String, CachedEntry)>, i64)> {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match list_prefix(client, keys).await {
            Err(error) if error.is_transient() && tokio::time::Instant::now() < deadline => {
                tracing::debug!(%error, "etcd not ready for the first listing; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

impl Drop for EtcdBackend {
    fn drop(&mut self) {
        self.watcher.abort();
        if let Some(keeper) = &self.member_keeper {
            keeper.abort();
        }
    }
}

impl std::fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("prefix", &self.keys.prefix())
            .field("instance", &self.instance)
            .field("lease", &self.lease.id())
            .field("cache", &self.cache.status())
            .finish()
    }
}
