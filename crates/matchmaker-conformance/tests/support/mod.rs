//! A tiny in-test registry backend over a `Mutex<HashMap>` with tokio-time expiry, wrapped in
//! `HeartbeatMatchMaker`: what a third party's backend crate hands to the suite. It can be
//! built with deliberate defects to prove the suite notices them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
    MembershipEvent, MembershipHub, Metadata, Registration, Result,
};
use tokio::time::Instant;

/// A deliberate bug the fake registry can be built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// `is_alive` of an unknown pair is an error instead of false.
    UnknownPairIsAnError,
    /// `expire(topic, host)` removes every host of the topic.
    ExpireRemovesTheWholeTopic,
    /// `backend_unregister(topic, host)` removes every topic of the host.
    UnregisterRemovesTheWholeHost,
    /// Fanout lists hosts in reverse order.
    FanoutInReverseOrder,
    /// `ack_alive` does not re-create a vanished record.
    AckAliveDoesNotRecreate,
    /// Lookups of a topic also list hosts of topics it is a prefix of.
    TopicMatchesByPrefix,
    /// Registrations never expire.
    NeverExpires,
    /// Only the first live host is ever served (as a backend that always picks the same one).
    OnlyTheFirstHost,
    /// `drain` leaves the records to expire with their TTL instead of removing them.
    DrainKeepsTheRecords,
    /// Join events carry no metadata.
    JoinsWithoutMetadata,
    /// Membership streams start with the changes, without the snapshot of the members.
    StreamWithoutSnapshot,
}

type Records = HashMap<(String, String), Instant>;

/// One namespace's registry: `(topic, host)` -> expiry deadline.
pub struct FakeRegistry {
    ttl: Duration,
    defect: Option<Defect>,
    records: Arc<Mutex<Records>>,
    /// The metadata each pair was last registered with.
    metadata: Arc<Mutex<HashMap<(String, String), Metadata>>>,
    /// Joins and explicit leaves (not expiries), published under the `records` lock.
    hub: Arc<MembershipHub>,
}

impl FakeRegistry {
    fn records(&self) -> MutexGuard<'_, Records> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Removes the pairs `doomed` picks, publishing a leave for each (under the lock).
    fn remove_where(&self, doomed: impl Fn(&(String, String)) -> bool) {
        let mut records = self.records();
        records.retain(|pair, _| {
            if doomed(pair) {
                self.hub.publish(MembershipEvent::left(&*pair.0, &*pair.1));
                return false;
            }
            true
        });
    }

    fn has(&self, defect: Defect) -> bool {
        self.defect == Some(defect)
    }

    fn deadline(&self) -> Instant {
        if self.has(Defect::NeverExpires) {
            Instant::now() + Duration::from_secs(365 * 24 * 3600)
        } else {
            Instant::now() + self.ttl
        }
    }

    fn remember_metadata(&self, registration: &Registration) {
        self.metadata
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(Self::pair(registration), (*registration.metadata).clone());
    }

    fn pair(registration: &Registration) -> (String, String) {
        (registration.topic.clone(), registration.host.clone())
    }
}

impl FakeRegistry {
    async fn hosts_of(&self, topic: &str) -> Result<Vec<String>> {
        tokio::task::yield_now().await;
        let now = Instant::now();
        let prefix = self.has(Defect::TopicMatchesByPrefix);
        let mut hosts: Vec<String> = self
            .records()
            .iter()
            .filter(|((t, _), deadline)| {
                (t == topic || (prefix && t.starts_with(topic))) && **deadline > now
            })
            .map(|((_, host), _)| host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        if self.has(Defect::FanoutInReverseOrder) {
            hosts.reverse();
        }
        if self.has(Defect::OnlyTheFirstHost) {
            hosts.truncate(1);
        }
        Ok(hosts)
    }
}

impl FakeRegistry {
    /// Records `registration`, alive for one TTL, announcing a join if it was not alive.
    fn write(&self, registration: &Registration) {
        let deadline = self.deadline();
        self.remember_metadata(registration);
        let mut records = self.records();
        let joined = records
            .insert(Self::pair(registration), deadline)
            .is_none_or(|before| before <= Instant::now());
        if joined {
            let metadata = if self.has(Defect::JoinsWithoutMetadata) {
                Arc::default()
            } else {
                registration.metadata.clone()
            };
            let event =
                MembershipEvent::joined(&*registration.topic, &*registration.host, metadata);
            self.hub.publish(event);
        }
    }
}

#[async_trait]
impl HostDirectory for FakeRegistry {
    fn live_topic_now(&self, _topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        None // every lookup takes the waiting path, as a remote directory would
    }
    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        Ok(Arc::new(LiveTopic::new(topic, self.hosts_of(topic).await?)))
    }
}

#[async_trait]
impl HeartbeatBackend for FakeRegistry {
    fn name(&self) -> &'static str {
        "fake"
    }
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        tokio::task::yield_now().await;
        for registration in registrations {
            self.write(registration);
        }
        Ok(())
    }

    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        tokio::task::yield_now().await;
        if self.has(Defect::UnregisterRemovesTheWholeHost) {
            self.remove_where(|(_, host)| *host == registration.host);
        } else {
            let pair = Self::pair(registration);
            self.remove_where(|candidate| *candidate == pair);
        }
        Ok(())
    }

    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        tokio::task::yield_now().await;
        let deadline = self.deadline();
        let mut records = self.records();
        let pair = Self::pair(registration);
        if self.has(Defect::AckAliveDoesNotRecreate) && !records.contains_key(&pair) {
            return Ok(());
        }
        records.insert(pair, deadline);
        Ok(())
    }

    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        tokio::task::yield_now().await;
        let records = self.records();
        match records.get(&(topic.to_owned(), host.to_owned())) {
            Some(deadline) => Ok(*deadline > Instant::now()),
            None if self.has(Defect::UnknownPairIsAnError) => Err(Error::backend(
                "fake",
                format!("no record for {topic}.{host}"),
            )),
            None => Ok(false),
        }
    }

    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        tokio::task::yield_now().await;
        if self.has(Defect::ExpireRemovesTheWholeTopic) {
            self.remove_where(|(t, _)| t == topic);
        } else {
            self.remove_where(|(t, h)| t == topic && h == host);
        }
        Ok(())
    }
    async fn leave_to_expire(&self, _: &[Registration]) -> Result<()> {
        Ok(())
    }
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        tokio::task::yield_now().await;
        if !self.has(Defect::DrainKeepsTheRecords) {
            let doomed: std::collections::HashSet<_> =
                registrations.iter().map(Self::pair).collect();
            self.remove_where(|pair| doomed.contains(pair));
        }
        Ok(())
    }
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        matchmaker_core::heartbeat::ack_each(self, registrations).await
    }
    async fn list(&self, topic: Option<&str>) -> Result<Vec<matchmaker_core::RegistrationInfo>> {
        let now = Instant::now();
        let metadata = self
            .metadata
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut infos: Vec<matchmaker_core::RegistrationInfo> = self
            .records()
            .iter()
            .filter(|((t, _), deadline)| topic.is_none_or(|topic| t == topic) && **deadline > now)
            .map(|((t, host), deadline)| matchmaker_core::RegistrationInfo {
                topic: t.clone(),
                host: host.clone(),
                alive: true,
                ttl_left: Some(*deadline - now),
                instance: None,
                metadata: metadata
                    .get(&(t.clone(), host.clone()))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect();
        infos.sort_by(|a, b| (&a.topic, &a.host).cmp(&(&b.topic, &b.host)));
        Ok(infos)
    }
    /// Joins and explicit leaves (expiries are not reported): enough for the trials that read
    /// the stream.
    fn subscribe(&self, topic: Option<&str>) -> Result<matchmaker_core::MembershipStream> {
        let (records, metadata, hub) = (
            self.records.clone(),
            self.metadata.clone(),
            self.hub.clone(),
        );
        let stream = self.hub.subscribe(topic, move |topic| {
            let now = Instant::now();
            let records = records
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let metadata = metadata
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let members = records
                .iter()
                .filter(|((t, _), deadline)| {
                    topic.is_none_or(|topic| t == topic) && **deadline > now
                })
                .map(|(pair, _)| {
                    let data = metadata.get(pair).cloned().unwrap_or_default();
                    Registration::with_metadata(&*pair.0, &*pair.1, data)
                })
                .collect();
            let snapshot = hub.snapshot(members);
            async move { Some(snapshot) }
        });
        if self.has(Defect::StreamWithoutSnapshot) {
            let changes = futures_util::StreamExt::filter(stream, |event| {
                std::future::ready(!matches!(event, MembershipEvent::Snapshot { .. }))
            });
            return Ok(Box::pin(changes));
        }
        Ok(stream)
    }
}

/// Creates matchmakers over one fake registry per namespace (so instances share it).
pub struct FakeFactory {
    ttl: Duration,
    defect: Option<Defect>,
    registries: Mutex<HashMap<String, Arc<FakeRegistry>>>,
}

impl FakeFactory {
    pub fn new(ttl: Duration, defect: Option<Defect>) -> Arc<Self> {
        Arc::new(FakeFactory {
            ttl,
            defect,
            registries: Mutex::new(HashMap::new()),
        })
    }

    /// What this fake backend can do; `paused` runs its trials on a paused clock.
    pub fn capabilities(&self, paused: bool) -> Capabilities {
        Capabilities {
            flavor: Flavor::Heartbeat,
            shared_registry: true,
            ttl: Some(self.ttl),
            paused_time: paused,
        }
    }
}

impl FakeFactory {
    /// A matchmaker over the namespace's one fake registry (created on first use).
    fn matchmaker(&self, namespace: &str) -> Result<HeartbeatMatchMaker<FakeRegistry>> {
        let registry = self
            .registries
            .lock()
            .unwrap()
            .entry(namespace.to_owned())
            .or_insert_with(|| {
                Arc::new(FakeRegistry {
                    ttl: self.ttl,
                    defect: self.defect,
                    records: Arc::default(),
                    metadata: Arc::default(),
                    hub: Arc::default(),
                })
            })
            .clone();
        HeartbeatMatchMaker::with_shared_backend(registry, HeartbeatConfig::with_ttl(self.ttl))
    }
}

#[async_trait]
impl Factory for FakeFactory {
    async fn create(&self, namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(self.matchmaker(namespace)?))
    }

    async fn create_registry(
        &self,
        namespace: &str,
    ) -> Option<Result<Box<dyn matchmaker_core::Registry>>> {
        Some(
            self.matchmaker(namespace)
                .map(|matchmaker| Box::new(matchmaker) as Box<dyn matchmaker_core::Registry>),
        )
    }

    async fn cleanup(&self, namespace: &str) {
        self.registries.lock().unwrap().remove(namespace);
    }
}
