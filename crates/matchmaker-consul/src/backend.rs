//! `ConsulBackend`: the registrar, the namespace watch and the lookup caches of one process
//! (its `HeartbeatBackend` and `HostDirectory` are in [`crate::hooks`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use matchmaker_core::{CacheStatus, Registration, Result};

use crate::cache::{CacheContext, Members, Snapshot, TopicCache};
use crate::client::{ConsulClient, Lane};
use crate::config::ConsulConfig;
use crate::naming;
use crate::registry::Registrar;
use crate::watcher::Watchers;

/// How long a lookup or a (un)registration waits for the cache to catch up, at most.
const SETTLE_BOUND: Duration = Duration::from_secs(3);

/// The Consul backend; wrap it in [`crate::ConsulMatchMaker`] (see [`crate::connect`]).
///
/// It holds at most [`MAX_AGENT_CONNECTIONS`](crate::MAX_AGENT_CONNECTIONS) connections to the
/// agent whatever the number of topics: one for the namespace watch, two for direct lookups and
/// four for registrations and heartbeats, which therefore never wait behind watches.
///
/// Dropping it stops the namespace watch (closing its connection) and ends the membership
/// streams; its registrations stay until their TTL runs out (then Consul reaps them after
/// `deregister_critical_after`).
pub struct ConsulBackend {
    pub(crate) registrar: Registrar,
    pub(crate) watchers: Arc<Watchers>,
    pub(crate) request_timeout: Duration,
    /// `matchmaker_cache_hits_total` of Consul, resolved once (every lookup counts one).
    pub(crate) cache_hits: matchmaker_core::telemetry::Counter,
    pub(crate) heartbeat_interval: Duration,
}

impl ConsulBackend {
    /// Connects to the agent named by `config` (one request: `GET /v1/agent/self`).
    pub async fn new(config: &ConsulConfig) -> Result<Self> {
        config.validate()?;
        let writes = ConsulClient::new(config, Lane::WRITES)?;
        let lookups = ConsulClient::new(config, Lane::LOOKUPS)?;
        let watch = ConsulClient::new(config, Lane::WATCH)?;
        let node = writes.node_name().await?;
        let context = Arc::new(CacheContext::new(
            watch,
            config.namespace.clone(),
            config.blocking_wait,
            config.min_query_interval,
        ));
        Ok(ConsulBackend {
            registrar: Registrar::new(writes, config, node),
            watchers: Watchers::new(context, lookups),
            request_timeout: config.request_timeout,
            cache_hits: matchmaker_core::telemetry::counter_of(
                matchmaker_core::telemetry::CACHE_HITS,
                crate::client::BACKEND,
            ),
            heartbeat_interval: config.heartbeat.interval(),
        })
    }

    /// Our namespace.
    pub fn namespace(&self) -> &str {
        &self.watchers.context.namespace
    }

    /// The id of this backend's instance (kept in every registration's Meta).
    pub fn instance_id(&self) -> &str {
        self.registrar.instance()
    }

    /// Connection and staleness of the lookup cache.
    pub fn cache_status(&self) -> CacheStatus {
        let (stale_since, topics, position) = self.watchers.staleness();
        CacheStatus {
            connected: self.registrar.is_connected() && self.watchers.context.client.is_connected(),
            stale_since,
            position,
            topics,
        }
    }

    /// Deregisters every service of our namespace that the catalog knows, whichever process
    /// registered it (tests and operators clean up with it). Returns how many were removed.
    /// Backends that are still heartbeating re-register theirs on their next beat.
    pub async fn purge_namespace(&self) -> Result<usize> {
        self.registrar.purge_namespace().await
    }

    pub(crate) fn topic_cache(&self, topic: &str) -> Arc<TopicCache> {
        self.watchers.cached(topic).unwrap_or_else(|| {
            self.watchers
                .cache_for(&naming::service_name(self.namespace(), topic), topic)
        })
    }

    /// Makes this process's lookups show its own change as soon as the call that made it
    /// returns: wait (bounded) for the namespace watch, which wakes within milliseconds of a
    /// change and serves every concurrent caller with one query; if it does not show the change
    /// in time, one direct query feeds the cache.
    pub(crate) async fn settle(
        &self,
        topic: &str,
        done: impl Fn(&BTreeSet<String>) -> bool,
    ) -> Result<()> {
        self.settle_within(SETTLE_BOUND, topic, done).await
    }

    /// [`Self::settle`] for every topic of `registrations`, within one shared bound: each
    /// topic's lookups show all of its hosts (`shown`) or none of them (`!shown`).
    pub(crate) async fn settle_all(
        &self,
        registrations: &[Registration],
        shown: bool,
    ) -> Result<()> {
        let mut by_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for registration in registrations {
            let hosts = by_topic.entry(registration.topic.as_str()).or_default();
            hosts.push(registration.host.as_str());
        }
        let deadline = tokio::time::Instant::now() + SETTLE_BOUND;
        for (topic, hosts) in by_topic {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            self.settle_within(left, topic, |members| {
                hosts.iter().all(|host| members.contains(*host) == shown)
            })
            .await?;
        }
        Ok(())
    }

    /// [`Self::settle`] waiting at most `bound` for the loop.
    pub(crate) async fn settle_within(
        &self,
        bound: Duration,
        topic: &str,
        done: impl Fn(&BTreeSet<String>) -> bool,
    ) -> Result<()> {
        let cache = self.topic_cache(topic);
        let empty = BTreeSet::new();
        let shows = |snapshot: &Snapshot| {
            snapshot.loaded && done(snapshot.members.get(topic).unwrap_or(&empty))
        };
        if cache.wait_until(bound, shows).await
            || self.query_into_cache(&cache, topic, &done).await?
        {
            return Ok(());
        }
        tracing::warn!(
            topic,
            "consul did not show our change within {SETTLE_BOUND:?}"
        );
        Ok(())
    }

    /// One direct `?passing` query of the topic's service, applied to its cache once the watch
    /// has its first answer (so the change is reported as an event), over whatever the watch
    /// applied last, which it is newer than. True when `done` holds.
    pub(crate) async fn query_into_cache(
        &self,
        cache: &TopicCache,
        topic: &str,
        done: &impl Fn(&BTreeSet<String>) -> bool,
    ) -> Result<bool> {
        let context = &self.watchers.context;
        let (entries, _) = self
            .watchers
            .lookups
            .health_service(&cache.name, true, None)
            .await?;
        let members: Members = context.members_of(&entries);
        if cache.loaded(self.request_timeout).await.is_ok() {
            // Kept under the watch's own index: `health/service` counts its index differently,
            // and a higher one would make the cache refuse the watch's next answers.
            let index = cache.snapshot().index;
            context.apply(cache, members, index, true);
        }
        let snapshot = cache.snapshot();
        let empty = BTreeSet::new();
        Ok(snapshot.loaded && done(snapshot.members.get(topic).unwrap_or(&empty)))
    }
}

impl Drop for ConsulBackend {
    fn drop(&mut self) {
        self.watchers.stop();
    }
}

impl std::fmt::Debug for ConsulBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulBackend")
            .field("namespace", &self.namespace())
            .field("instance", &self.instance_id())
            .field("cache", &self.cache_status())
            .finish()
    }
}
