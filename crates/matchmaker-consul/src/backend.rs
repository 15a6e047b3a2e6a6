//! `ConsulBackend`: the `HeartbeatBackend` and `HostDirectory` over a Consul agent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use matchmaker_core::{
    HeartbeatBackend, HostDirectory, MembershipStream, Registration, RegistrationInfo, Result,
};

use crate::cache::{CacheContext, Members, Snapshot, TopicCache};
use crate::client::{ConsulClient, Lane, BACKEND};
use crate::config::ConsulConfig;
use crate::naming;
use crate::registry::Registrar;
use crate::watchers::Watchers;

/// How long a lookup or a (un)registration waits for the cache to catch up, at most.
const SETTLE_BOUND: Duration = Duration::from_secs(3);

/// Health of the lookup cache, for dashboards and readiness probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStatus {
    /// True when the last request to the agent got an answer.
    pub connected: bool,
    /// Since when some cached topic could not be refreshed (its last known hosts are served).
    pub stale_since: Option<Instant>,
    /// How many service names the cache holds (all fed by one blocking query).
    pub watched_services: usize,
}

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
    registrar: Registrar,
    watchers: Arc<Watchers>,
    request_timeout: Duration,
    heartbeat_interval: Duration,
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
        let (stale_since, watched_services) = self.watchers.staleness();
        CacheStatus {
            connected: self.registrar.is_connected() && self.watchers.context.client.is_connected(),
            stale_since,
            watched_services,
        }
    }

    /// Deregisters every service of our namespace that the catalog knows, whichever process
    /// registered it (tests and operators clean up with it). Returns how many were removed.
    /// Backends that are still heartbeating re-register theirs on their next beat.
    pub async fn purge_namespace(&self) -> Result<usize> {
        self.registrar.purge_namespace().await
    }

    /// Deregisters this backend's registrations and its instance service now, instead of
    /// letting them expire. The backend stays usable (the next register starts over).
    pub async fn shutdown(&self) -> Result<()> {
        self.registrar.deregister_all().await
    }

    fn topic_cache(&self, topic: &str) -> Arc<TopicCache> {
        self.watchers
            .cache_for(&naming::service_name(self.namespace(), topic), topic)
    }

    /// Makes this process's lookups show its own change as soon as the call that made it
    /// returns: wait (bounded) for the namespace watch, which wakes within milliseconds of a
    /// change and serves every concurrent caller with one query; if it does not show the change
    /// in time, one direct query feeds the cache.
    async fn settle(&self, topic: &str, done: impl Fn(&BTreeSet<String>) -> bool) -> Result<()> {
        self.settle_within(SETTLE_BOUND, topic, done).await
    }

    /// [`Self::settle`] waiting at most `bound` for the loop.
    async fn settle_within(
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
    async fn query_into_cache(
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

#[async_trait]
impl HostDirectory for ConsulBackend {
    #[tracing::instrument(level = "debug", skip(self))]
    async fn live_hosts(&self, topic: &str) -> Result<Vec<String>> {
        let cache = self.topic_cache(topic);
        let snapshot = cache.loaded(self.request_timeout).await?;
        matchmaker_core::telemetry::cache_hit(BACKEND);
        Ok(snapshot
            .members
            .get(topic)
            .map(|hosts| hosts.iter().cloned().collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl HeartbeatBackend for ConsulBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    #[tracing::instrument(level = "debug", skip(self), fields(topic = %registration.topic, host = %registration.host))]
    async fn backend_register(&self, registration: &Registration) -> Result<()> {
        self.registrar.register(registration).await
    }

    /// Registers the services with as many requests in flight as the write lane has
    /// connections, passes the process's TTL check once, and waits (bounded) until every
    /// topic's lookups show its new hosts.
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        self.registrar.register_many(registrations).await?;
        self.registrar.pass().await?;
        let mut by_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for registration in registrations {
            by_topic
                .entry(&registration.topic)
                .or_default()
                .push(&registration.host);
        }
        for (topic, hosts) in by_topic {
            self.settle(topic, |shown| {
                hosts.iter().all(|host| shown.contains(*host))
            })
            .await?;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip(self), fields(topic = %registration.topic, host = %registration.host))]
    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        self.registrar.unregister(registration).await?;
        self.settle(&registration.topic, |hosts| {
            !hosts.contains(&registration.host)
        })
        .await
    }

    /// Re-creates the pair's service if it vanished, passes the process's TTL check, and waits
    /// (bounded) until the pair shows in this process's lookups.
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        let started = Instant::now();
        if self.registrar.ack(registration).await? {
            self.watchers.reset_all();
        }
        self.settle(&registration.topic, |hosts| {
            hosts.contains(&registration.host)
        })
        .await?;
        // A slow agent may have taken a good part of the TTL: refresh once more.
        if started.elapsed() > self.heartbeat_interval {
            self.registrar.pass().await?;
        }
        Ok(())
    }

    /// `is_alive` asks the catalog (`health/service/<name>?passing`), not the cache: true when
    /// the pair's service exists anywhere in the cluster and all its checks pass.
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        let name = naming::service_name(self.namespace(), topic);
        let (entries, _) = self
            .watchers
            .lookups
            .health_service(&name, true, None)
            .await?;
        let members = self.watchers.context.members_of(&entries);
        Ok(members.get(topic).is_some_and(|hosts| hosts.contains(host)))
    }

    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.registrar.expire(topic, host).await?;
        self.settle(topic, |hosts| !hosts.contains(host)).await
    }

    /// Deregisters each registration (waiting, bounded, until the namespace watch shows it
    /// gone) and then the instance service.
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        for registration in registrations {
            self.backend_unregister(registration).await?;
        }
        self.registrar.release_instance().await
    }

    /// Gives each registration a TTL check of its own, passing now, in place of its alias of
    /// the instance service, then deregisters the instance service: each one turns critical
    /// one TTL from now, and Consul reaps it `deregister_critical_after` later.
    async fn leave_to_expire(&self, registrations: &[Registration]) -> Result<()> {
        self.registrar.leave_to_expire(registrations).await
    }

    /// One request per beat for the whole process: pass the instance's TTL check (plus, every
    /// few beats, one request comparing the agent's services with ours). Registrations that
    /// vanished are re-created; when the agent forgot us (restart), everything is.
    #[tracing::instrument(level = "debug", skip_all, fields(registrations = registrations.len()))]
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<()> {
        match self.registrar.heartbeat().await? {
            None => self.watchers.reset_all(),
            Some(recreated) => {
                // Bounded by a fraction of the interval: the next beat must not be late.
                let bound = self.heartbeat_interval / 2;
                for registration in recreated {
                    self.settle_within(bound, &registration.topic, |hosts| {
                        hosts.contains(&registration.host)
                    })
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        self.registrar.list(topic).await
    }

    /// Joins and leaves seen by the namespace watch. `Some(topic)` adds that topic's cache;
    /// `None` adds a cache for every topic of the namespace, now and as they appear.
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        let receiver = self.watchers.context.events.subscribe();
        match topic {
            Some(topic) => {
                self.topic_cache(topic);
            }
            None => self.watchers.watch_catalog(),
        }
        let source = crate::subscription::MetadataSource {
            client: self.watchers.lookups.clone(),
            namespace: self.watchers.context.namespace.clone(),
        };
        Ok(crate::subscription::stream(
            receiver,
            topic.map(str::to_owned),
            source,
        ))
    }
}
