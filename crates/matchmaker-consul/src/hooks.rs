//! `HeartbeatBackend` and `HostDirectory` for [`ConsulBackend`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use matchmaker_core::heartbeat::LiveTopic;
use matchmaker_core::{
    HeartbeatBackend, HostDirectory, MembershipStream, Registration, RegistrationInfo,
    Registrations, Result,
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

    /// The set a re-registration after an agent restart, or of vanished services, restores.
    fn attach(&self, registrations: Registrations) {
        self.registrar.attach(registrations);
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

    /// Deregisters the registrations (as many requests in flight as the write lane has
    /// connections), waits (bounded) until the namespace watch shows each topic without them,
    /// then deregisters the instance service.
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        self.registrar.unregister_many(registrations).await?;
        let mut by_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for registration in registrations {
            let hosts = by_topic.entry(registration.topic.as_str()).or_default();
            hosts.push(registration.host.as_str());
        }
        for (topic, gone) in by_topic {
            self.settle(topic, |hosts| {
                gone.iter().all(|host| !hosts.contains(*host))
            })
            .await?;
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
