//! `Registrar`: this process's services on the local agent, its one TTL check, and the
//! catalog-wide operations (expire, list, purge).
//!
//! Every registration is an agent service whose only check is an alias of the process's
//! instance service, which holds the one TTL check: a heartbeat is one `check/pass` request
//! whatever the number of registrations, and when it stops every registration turns critical
//! together, at TTL expiry.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use matchmaker_core::heartbeat::Beat;
use matchmaker_core::{Registration, RegistrationInfo, Result};

use crate::client::{ConsulClient, PassOutcome, BACKEND};
use crate::config::ConsulConfig;
use crate::naming::{self, META_HOST, META_INSTANCE, META_NAMESPACE, META_TOPIC};
use crate::wire::{CheckDefinition, ServiceEntry, ServiceRegistration};

/// Every this many heartbeats, one extra request compares the agent's services of this
/// instance with our registrations and re-creates the missing ones (removed by another
/// process's `expire`, or by an operator).
pub(crate) const RECONCILE_EVERY: u64 = 5;

/// Bulk registrations in flight at once: the write lane's connections.
const WRITE_CONCURRENCY: usize = crate::client::Lane::WRITES.max_in_flight;

pub(crate) struct Registrar {
    client: ConsulClient,
    namespace: String,
    node: String,
    instance: String,
    ttl: Duration,
    deregister_after: Duration,
    /// Pairs that `expire` removed: the next heartbeat reports those the matchmaker holds
    /// lost. (What must exist is the matchmaker's; the registrar keeps no set of it.)
    vanished: Mutex<BTreeSet<Registration>>,
    /// Set when an `ack` found that the agent forgot this process: the next heartbeat reports
    /// every registration lost.
    forgotten: AtomicBool,
    /// Heartbeats sent, to reconcile with the agent every [`RECONCILE_EVERY`] beats.
    beats: AtomicU64,
    /// True once the instance service is registered; the lock also orders re-registration.
    instance_registered: tokio::sync::Mutex<bool>,
}

impl Registrar {
    pub fn new(client: ConsulClient, config: &ConsulConfig, node: String) -> Self {
        Registrar {
            client,
            namespace: config.namespace.clone(),
            node,
            instance: naming::new_instance_id(),
            ttl: config.heartbeat.ttl,
            deregister_after: config.deregister_critical_after,
            vanished: Mutex::new(BTreeSet::new()),
            forgotten: AtomicBool::new(false),
            beats: AtomicU64::new(0),
            instance_registered: tokio::sync::Mutex::new(false),
        }
    }

    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// True when the last write-lane request reached the agent.
    pub fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    fn meta(&self, pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut meta: HashMap<String, String> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        meta.insert(META_NAMESPACE.to_owned(), self.namespace.clone());
        meta.insert(META_INSTANCE.to_owned(), self.instance.clone());
        meta
    }

    fn deregister_after(&self) -> String {
        format!("{}s", self.deregister_after.as_secs())
    }

    async fn register_instance(&self) -> Result<()> {
        let service = ServiceRegistration {
            id: naming::instance_service_id(&self.instance),
            name: naming::INSTANCE_SERVICE_NAME.to_owned(),
            tags: vec![naming::namespace_tag(&self.namespace)],
            address: String::new(),
            meta: self.meta(&[]),
            check: CheckDefinition {
                check_id: naming::instance_check_id(&self.instance),
                name: "matchmaker process heartbeat".to_owned(),
                ttl: Some(format!("{}ms", self.ttl.as_millis())),
                alias_service: None,
                status: None,
                deregister_critical_service_after: self.deregister_after(),
            },
        };
        self.client.register_service(&service).await?;
        tracing::debug!(instance = %self.instance, "consul instance service registered");
        Ok(())
    }

    async fn ensure_instance(&self) -> Result<()> {
        let mut registered = self.instance_registered.lock().await;
        if !*registered {
            self.register_instance().await?;
            *registered = true;
        }
        Ok(())
    }

    /// The agent service of `registration`, with `check` (built from the service ID).
    fn service(
        &self,
        registration: &Registration,
        check: impl FnOnce(&str) -> CheckDefinition,
    ) -> ServiceRegistration {
        let (topic, host) = (&registration.topic, &registration.host);
        let id = naming::service_id(&self.namespace, topic, host);
        // The registration's own metadata beside ours: its keys cannot start with `mm_`.
        let mut meta = self.meta(&[(META_TOPIC, topic), (META_HOST, host)]);
        meta.extend(
            registration
                .metadata
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        ServiceRegistration {
            name: naming::service_name(&self.namespace, topic),
            tags: vec![naming::namespace_tag(&self.namespace)],
            address: host.clone(),
            meta,
            check: check(&id),
            id,
        }
    }

    async fn register_service(&self, registration: &Registration) -> Result<()> {
        let service = self.service(registration, |id| CheckDefinition {
            check_id: naming::alias_check_id(id),
            name: "matchmaker registration alive".to_owned(),
            ttl: None,
            alias_service: Some(naming::instance_service_id(&self.instance)),
            status: None,
            deregister_critical_service_after: self.deregister_after(),
        });
        self.client.register_service(&service).await
    }

    /// The pair's service with a TTL check of its own, passing now, in place of its alias.
    async fn register_self_timed(&self, registration: &Registration) -> Result<()> {
        let service = self.service(registration, |id| CheckDefinition {
            check_id: naming::own_ttl_check_id(id),
            name: "matchmaker registration left to expire".to_owned(),
            ttl: Some(format!("{}ms", self.ttl.as_millis())),
            alias_service: None,
            status: Some("passing".to_owned()),
            deregister_critical_service_after: self.deregister_after(),
        });
        self.client.replace_service(&service).await
    }

    /// Hands each registration a TTL check of its own (passing now, critical one TTL from
    /// now) and forgets it; once none is left, deregisters the instance service, which
    /// nothing aliases any more.
    pub async fn leave_to_expire(&self, registrations: &[Registration]) -> Result<()> {
        for registration in registrations {
            self.register_self_timed(registration).await?;
            lock(&self.vanished).remove(registration);
        }
        self.release_instance().await
    }

    /// Deregisters the instance service (once the matchmaker let go of every registration
    /// that aliases it: a drain or a leave).
    pub async fn release_instance(&self) -> Result<()> {
        let mut registered = self.instance_registered.lock().await;
        if *registered {
            self.client
                .deregister_service(&naming::instance_service_id(&self.instance))
                .await?;
            *registered = false;
        }
        Ok(())
    }

    /// Registers every pair's service, [`WRITE_CONCURRENCY`] requests at a time (each alive
    /// once the process's check passes).
    pub async fn register_many(&self, registrations: &[Registration]) -> Result<()> {
        self.ensure_instance().await?;
        for wave in registrations.chunks(WRITE_CONCURRENCY) {
            let writes = wave.iter().map(|r| self.register_service(r));
            futures_util::future::try_join_all(writes).await?;
        }
        tracing::info!(
            registrations = registrations.len(),
            "consul services registered"
        );
        Ok(())
    }

    /// Deregisters every pair's service, [`WRITE_CONCURRENCY`] requests at a time.
    pub async fn unregister_many(&self, registrations: &[Registration]) -> Result<()> {
        for wave in registrations.chunks(WRITE_CONCURRENCY) {
            futures_util::future::try_join_all(wave.iter().map(|r| self.unregister(r))).await?;
        }
        Ok(())
    }

    pub async fn unregister(&self, registration: &Registration) -> Result<()> {
        let id = naming::service_id(&self.namespace, &registration.topic, &registration.host);
        self.client.deregister_service(&id).await
    }

    /// Re-creates the pair's service if the agent lost it, then passes the TTL check. True
    /// when the agent had forgotten this process (the next heartbeat reports everything lost).
    pub async fn ack(&self, registration: &Registration) -> Result<bool> {
        self.ensure_instance().await?;
        let id = naming::service_id(&self.namespace, &registration.topic, &registration.host);
        if !self.client.has_service(&id).await? {
            tracing::info!(topic = %registration.topic, host = %registration.host, "consul service vanished; re-creating it");
            self.register_service(registration).await?;
        }
        if self.pass().await? == PassOutcome::Passed {
            return Ok(false);
        }
        self.agent_forgot_us().await;
        self.forgotten.store(true, Ordering::SeqCst);
        self.ensure_instance().await?;
        self.register_service(registration).await?;
        self.pass().await?;
        Ok(true)
    }

    /// One heartbeat: pass the TTL check, then report what the agent lost of `registrations`
    /// (the matchmaker's snapshot, sorted): everything when it forgot this process (it
    /// restarted), else the pairs `expire` removed and, every [`RECONCILE_EVERY`] beats, those
    /// one request comparing the agent's services with ours finds missing.
    pub async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        if self.pass().await? == PassOutcome::CheckMissing {
            self.agent_forgot_us().await;
            self.forgotten.store(true, Ordering::SeqCst);
        }
        if self.forgotten.swap(false, Ordering::SeqCst) {
            return Ok(Beat::LostAll);
        }
        let beat = self.beats.fetch_add(1, Ordering::Relaxed) + 1;
        let vanished = std::mem::take(&mut *lock(&self.vanished));
        let mut lost: Vec<Registration> = vanished
            .into_iter()
            .filter(|registration| registrations.binary_search(registration).is_ok())
            .collect();
        if beat.checked_rem(RECONCILE_EVERY) == Some(0) {
            lost.extend(self.missing_on_agent(registrations).await?);
        }
        Ok(match lost.is_empty() {
            true => Beat::Alive,
            false => Beat::Lost(lost),
        })
    }

    /// Our registrations the local agent does not hold.
    async fn missing_on_agent(&self, registrations: &[Registration]) -> Result<Vec<Registration>> {
        let present: BTreeSet<String> = self
            .client
            .agent_service_ids(META_INSTANCE, &self.instance)
            .await?
            .into_iter()
            .collect();
        Ok(registrations
            .iter()
            .filter(|registration| {
                let id =
                    naming::service_id(&self.namespace, &registration.topic, &registration.host);
                !present.contains(&id)
            })
            .cloned()
            .collect())
    }

    /// Passes the process's TTL check: the heartbeat of every registration at once.
    pub async fn pass(&self) -> Result<PassOutcome> {
        let outcome = self
            .client
            .pass_check(&naming::instance_check_id(&self.instance))
            .await?;
        tracing::trace!(?outcome, "consul heartbeat");
        Ok(outcome)
    }

    /// The agent forgot this process (it restarted): the next write registers the instance
    /// service again, before the registrations that alias it.
    async fn agent_forgot_us(&self) {
        *self.instance_registered.lock().await = false;
        tracing::warn!(
            backend = BACKEND,
            instance = %self.instance,
            "the Consul agent forgot this process's services (restarted?); restoring them"
        );
    }

    /// Removes the pair wherever it is registered: through the local agent when it owns the
    /// service, through the catalog otherwise (the owning agent may re-sync it then).
    pub async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        // Marked whoever registered it: whether this process's matchmaker holds the pair is
        // the beat's to tell (a restore in flight may re-create it just after this removal).
        lock(&self.vanished).insert(Registration::new(topic, host));
        let id = naming::service_id(&self.namespace, topic, host);
        let entries = self
            .entries(&naming::service_name(&self.namespace, topic))
            .await?;
        let mut found = false;
        for entry in entries.iter().filter(|entry| entry.service.id == id) {
            found = true;
            self.remove(entry).await?;
        }
        if !found {
            self.client.deregister_service(&id).await?;
        }
        tracing::info!(topic, host, "consul service expired");
        Ok(())
    }

    async fn remove(&self, entry: &ServiceEntry) -> Result<()> {
        if entry.node.node == self.node {
            self.client.deregister_service(&entry.service.id).await
        } else {
            self.client
                .catalog_deregister(&entry.node.node, &entry.service.id)
                .await
        }
    }

    /// Every service entry of `name` in our namespace, passing or not.
    async fn entries(&self, name: &str) -> Result<Vec<ServiceEntry>> {
        let (entries, _) = self.client.health_service(name, false, None).await?;
        Ok(entries
            .into_iter()
            .filter(|entry| entry.meta(META_NAMESPACE) == Some(self.namespace.as_str()))
            .collect())
    }

    /// Names of every topic service tagged with our namespace.
    async fn namespace_service_names(&self) -> Result<Vec<String>> {
        let tag = naming::namespace_tag(&self.namespace);
        let services = self.client.catalog_services().await?;
        let mut names: Vec<String> = services
            .into_iter()
            .filter(|(name, tags)| naming::is_topic_service_name(name) && tags.contains(&tag))
            .map(|(name, _)| name)
            .collect();
        names.sort();
        Ok(names)
    }

    pub async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        let names = match topic {
            Some(topic) => vec![naming::service_name(&self.namespace, topic)],
            None => self.namespace_service_names().await?,
        };
        let mut infos = Vec::new();
        for name in names {
            for entry in self.entries(&name).await? {
                let (Some(entry_topic), Some(host)) =
                    (entry.meta(META_TOPIC), entry.meta(META_HOST))
                else {
                    continue;
                };
                if topic.is_some_and(|topic| topic != entry_topic) {
                    continue;
                }
                infos.push(RegistrationInfo {
                    topic: entry_topic.to_owned(),
                    host: host.to_owned(),
                    alive: entry.is_passing(),
                    ttl_left: None,
                    instance: entry.meta(META_INSTANCE).map(str::to_owned),
                    metadata: naming::user_metadata(entry.service.meta.as_ref()),
                });
            }
        }
        infos.sort_by(|a, b| (&a.topic, &a.host).cmp(&(&b.topic, &b.host)));
        Ok(infos)
    }

    pub async fn purge_namespace(&self) -> Result<usize> {
        let mut names = self.namespace_service_names().await?;
        names.push(naming::INSTANCE_SERVICE_NAME.to_owned());
        let mut removed = 0;
        for name in names {
            for entry in self.entries(&name).await? {
                self.remove(&entry).await?;
                removed += 1;
            }
        }
        *self.instance_registered.lock().await = false;
        Ok(removed)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
