//! `HeartbeatBackend` and `HostDirectory` for [`ConsulBackend`].

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    HeartbeatBackend, HostDirectory, MembershipStream, Registration, RegistrationInfo, Result,
};

use crate::backend::ConsulBackend;
use crate::client::BACKEND;
use crate::naming;

#[async_trait]
impl HostDirectory for ConsulBackend {
    /// The topic's shared snapshot, once its cache holds an answer.
    fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        let live = self.topic_cache(topic).live_now()?;
        self.cache_hits.increment(1);
        Some(Ok(live))
    }

    /// Waits (at most the request timeout) for the first answer of a topic not watched yet.
    #[tracing::instrument(level = "debug", skip(self))]
    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        let snapshot = self.topic_cache(topic).loaded(self.request_timeout).await?;
        self.cache_hits.increment(1);
        Ok(snapshot.live)
    }
}

#[async_trait]
impl HeartbeatBackend for ConsulBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    /// Registers the services with as many requests in flight as the write lane has
    /// connections, passes the process's TTL check once, and waits (bounded, once for all
    /// topics) until every topic's lookups show its new hosts. Concurrent registers reach it
    /// as one call (the matchmaker batches them).
    #[tracing::instrument(level = "debug", skip_all, fields(registrations = registrations.len()))]
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        let started = Instant::now();
        self.registrar.register_many(registrations).await?;
        self.registrar.pass().await?;
        self.settle_all(registrations, true).await?;
        self.pass_again_if_slow(started).await
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
        self.pass_again_if_slow(started).await
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

    /// Deregisters the registrations (as many requests in flight as the write lane has
    /// connections), waits (bounded) until the namespace watch shows each topic without them,
    /// then deregisters the instance service.
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        self.registrar.unregister_many(registrations).await?;
        self.settle_all(registrations, false).await?;
        self.registrar.release_instance().await
    }

    /// Gives each registration a TTL check of its own, passing now, in place of its alias of
    /// the instance service, then deregisters the instance service: each one turns critical
    /// one TTL from now, and Consul reaps it `deregister_critical_after` later.
    async fn leave_to_expire(&self, registrations: &[Registration]) -> Result<()> {
        self.registrar.leave_to_expire(registrations).await
    }

    /// One request per beat for the whole process: pass the instance's TTL check (plus, every
    /// few beats, one request comparing the agent's services with ours). Reports the
    /// registrations that vanished, or all of them when the agent forgot us (restart); the
    /// matchmaker restores them through `backend_register_many`.
    #[tracing::instrument(level = "debug", skip_all, fields(registrations = registrations.len()))]
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        let beat = self.registrar.heartbeat(registrations).await?;
        if beat == Beat::LostAll {
            // A restarted agent answers from a new index: the watches start over.
            self.watchers.reset_all();
        }
        Ok(beat)
    }

    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        self.registrar.list(topic).await
    }

    /// The membership the namespace watch sees: a snapshot once it has answered, then joins and
    /// leaves. `Some(topic)` adds that topic's cache; `None` adds a cache for every topic of the
    /// namespace, now and as they appear.
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        let cache = match topic {
            Some(topic) => Some(self.topic_cache(topic)),
            None => {
                self.watchers.watch_catalog();
                None
            }
        };
        Ok(crate::subscription::stream(&self.watchers, cache, topic))
    }
}

impl ConsulBackend {
    /// Passes the TTL check once more if the call that began at `started` took longer than a
    /// heartbeat interval: a slow agent may have taken a good part of the TTL.
    async fn pass_again_if_slow(&self, started: Instant) -> Result<()> {
        if started.elapsed() > self.heartbeat_interval {
            self.registrar.pass().await?;
        }
        Ok(())
    }
}
