//! The hooks a registry backend implements.

use std::time::Duration;

use async_trait::async_trait;

use crate::heartbeat::Metadata;
use crate::{key, MembershipStream, Result};

/// One `(topic, host)` registration with its metadata: what this process registers, and what a
/// membership snapshot ([`crate::MembershipEvent::Snapshot`]) lists.
///
/// Its identity is the pair: equality, order and hashing look at `topic` and `host` only, so
/// a set of registrations holds one per pair and registering a pair again with other metadata
/// replaces it.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The topic served; it may contain dots (`l3_agent.node1`).
    pub topic: String,
    /// The host serving it.
    pub host: String,
    /// What the registry stores with it (validated by [`crate::heartbeat::validate_metadata`]).
    pub metadata: std::sync::Arc<Metadata>,
}

impl PartialEq for Registration {
    fn eq(&self, other: &Self) -> bool {
        (&self.topic, &self.host) == (&other.topic, &other.host)
    }
}

impl Eq for Registration {}

impl PartialOrd for Registration {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Registration {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.topic, &self.host).cmp(&(&other.topic, &other.host))
    }
}

impl std::hash::Hash for Registration {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.topic, &self.host).hash(state);
    }
}

impl Registration {
    /// A registration of `host` for `topic` without metadata (not validated; see
    /// [`key::validate_pair`]).
    pub fn new(topic: impl Into<String>, host: impl Into<String>) -> Self {
        Self::with_metadata(topic, host, Metadata::new())
    }

    /// A registration of `host` for `topic` carrying `metadata` (not validated).
    pub fn with_metadata(
        topic: impl Into<String>,
        host: impl Into<String>,
        metadata: Metadata,
    ) -> Self {
        Registration {
            topic: topic.into(),
            host: host.into(),
            metadata: std::sync::Arc::new(metadata),
        }
    }

    /// The joined key `topic.host` the original passed to `backend_register`.
    pub fn key_host(&self) -> String {
        key::join(&self.topic, &self.host)
    }
}

/// What a registry knows about one registration, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationInfo {
    /// The topic.
    pub topic: String,
    /// The host.
    pub host: String,
    /// Whether the registration is currently alive.
    pub alive: bool,
    /// Time left before it expires without a heartbeat, when the backend knows it.
    pub ttl_left: Option<Duration>,
    /// The id of the process instance that registered it, when the backend records one.
    pub instance: Option<String>,
    /// The metadata it was registered with (empty when none).
    pub metadata: Metadata,
}

/// Answers which hosts are alive for a topic; what lookups on a heartbeat backend read.
#[async_trait]
pub trait HostDirectory: Send + Sync {
    /// Every live host of `topic`, in a stable order (sorted), without duplicates.
    async fn live_hosts(&self, topic: &str) -> Result<Vec<String>>;

    /// The one live host a bare-topic lookup routes to: the one at index `choose(count)` of
    /// what `live_hosts` would return (`count` > 0), or `None` when there is none. A backend
    /// answers it from its state without copying the other hosts, so a bare lookup costs the
    /// same at 1 and at 1000 hosts; [`chosen_host`] answers it from a host list.
    async fn live_host(&self, topic: &str, choose: &Choose<'_>) -> Result<Option<String>>;
}

/// How a bare-topic lookup chooses: from the number of live hosts (> 0), the index of one.
pub type Choose<'a> = dyn Fn(usize) -> usize + Send + Sync + 'a;

/// [`HostDirectory::live_host`] answered from a full host list, for directories that have
/// nothing better (tests, wrappers).
pub fn chosen_host(hosts: Vec<String>, choose: &Choose<'_>) -> Option<String> {
    choose_among(hosts.iter(), choose)
}

/// The host at `choose(count)` of sorted `hosts`, the only one copied; `None` when there is
/// none. What backends answer [`HostDirectory::live_host`] with from their own state.
pub fn choose_among<'a>(
    mut hosts: impl ExactSizeIterator<Item = &'a String>,
    choose: &Choose<'_>,
) -> Option<String> {
    let count = hosts.len();
    if count == 0 {
        return None;
    }
    hosts.nth(choose(count).min(count - 1)).cloned()
}

/// The hooks a registry backend implements to plug into [`super::HeartbeatMatchMaker`].
///
/// Every input has been validated by [`key`] before a hook is called.
///
/// # Behaviour
/// - `backend_register` records the registration (alive or not yet alive).
/// - `backend_unregister` removes that registration only.
/// - `ack_alive` refreshes the registration; if its record vanished it re-creates it.
/// - `is_alive` is false for an unknown pair, not an error.
/// - `expire` removes that pair only.
/// - `heartbeat` refreshes all of this process's registrations; the default acknowledges
///   each one, backends with a cheaper way (one lease keep-alive) override it.
///
/// # Example: a new registry
/// A minimal backend over a shared in-process set (no TTL), wrapped by [`HeartbeatMatchMaker`],
/// which brings registration, validation, heartbeats and the topic/direct/fanout lookups.
///
/// [`HeartbeatMatchMaker`]: super::HeartbeatMatchMaker
///
/// ```
/// use std::collections::BTreeSet;
/// use std::sync::Mutex;
///
/// use async_trait::async_trait;
/// use matchmaker_core::heartbeat::{ack_each, chosen_host, Choose};
/// use matchmaker_core::{
///     Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
///     MembershipStream, Registration, RegistrationInfo, Result,
/// };
///
/// #[derive(Default)]
/// struct SetRegistry(Mutex<BTreeSet<Registration>>);
///
/// #[async_trait]
/// impl HostDirectory for SetRegistry {
///     async fn live_hosts(&self, topic: &str) -> Result<Vec<String>> {
///         let set = self.0.lock().unwrap();
///         Ok(set.iter().filter(|r| r.topic == topic).map(|r| r.host.clone()).collect())
///     }
///     async fn live_host(&self, topic: &str, choose: &Choose<'_>) -> Result<Option<String>> {
///         Ok(chosen_host(self.live_hosts(topic).await?, choose))
///     }
/// }
///
/// #[async_trait]
/// impl HeartbeatBackend for SetRegistry {
///     fn name(&self) -> &'static str {
///         "set"
///     }
///     async fn backend_register(&self, registration: &Registration) -> Result<()> {
///         self.0.lock().unwrap().insert(registration.clone());
///         Ok(())
///     }
///     async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
///         self.0.lock().unwrap().extend(registrations.iter().cloned());
///         Ok(())
///     }
///     async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
///         self.0.lock().unwrap().remove(registration);
///         Ok(())
///     }
///     async fn ack_alive(&self, registration: &Registration) -> Result<()> {
///         self.backend_register(registration).await // re-create it if it vanished
///     }
///     async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
///         Ok(self.0.lock().unwrap().contains(&Registration::new(topic, host)))
///     }
///     async fn expire(&self, topic: &str, host: &str) -> Result<()> {
///         self.0.lock().unwrap().remove(&Registration::new(topic, host));
///         Ok(())
///     }
///     async fn leave_to_expire(&self, _registrations: &[Registration]) -> Result<()> {
///         Ok(()) // nothing here depends on this process staying alive
///     }
///     async fn drain(&self, registrations: &[Registration]) -> Result<()> {
///         let mut set = self.0.lock().unwrap();
///         registrations.iter().for_each(|registration| { set.remove(registration); });
///         Ok(())
///     }
///     async fn heartbeat(&self, registrations: &[Registration]) -> Result<()> {
///         ack_each(self, registrations).await // no bulk refresh here
///     }
///     async fn list(&self, _topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
///         Err(Error::Unsupported { backend: "set", operation: "list" })
///     }
///     fn subscribe(&self, _topic: Option<&str>) -> Result<MembershipStream> {
///         Err(Error::Unsupported { backend: "set", operation: "subscribe" })
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let matchmaker = HeartbeatMatchMaker::new(SetRegistry::default(), HeartbeatConfig::default())?;
/// matchmaker.register("scheduler", "node1").await?;
/// let routes = matchmaker.queues("fanout~scheduler").await?;
/// assert_eq!(routes[0].host.as_deref(), Some("node1"));
/// assert!(matchmaker.is_alive("scheduler", "node1").await?);
/// # Ok::<(), matchmaker_core::Error>(()) }).unwrap();
/// ```
///
/// A real registry implements `heartbeat` as one request for all registrations, and `list`
/// and `subscribe`; run the conformance suite (`matchmaker-conformance`) against it.
#[async_trait]
pub trait HeartbeatBackend: HostDirectory + 'static {
    /// Short backend name for errors and logs, e.g. `memory`.
    fn name(&self) -> &'static str;

    /// Records a registration.
    async fn backend_register(&self, registration: &Registration) -> Result<()>;

    /// Records every registration of `registrations` and leaves each alive for a full TTL: the
    /// bulk register, one batch of writes and one refresh where the backend can.
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()>;

    /// Removes a registration.
    async fn backend_unregister(&self, registration: &Registration) -> Result<()>;

    /// Refreshes a registration, re-creating it when its record vanished.
    async fn ack_alive(&self, registration: &Registration) -> Result<()>;

    /// True when the pair is registered and alive.
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool>;

    /// Removes the pair's registration, whoever made it.
    async fn expire(&self, topic: &str, host: &str) -> Result<()>;

    /// Leaves each of `registrations` to expire by itself, at most one TTL from now, without
    /// this process, and releases what only this process held (an instance record whose
    /// liveness the registrations follow). A backend whose records already expire on their own
    /// only stops re-creating them.
    async fn leave_to_expire(&self, registrations: &[Registration]) -> Result<()>;

    /// Removes each of `registrations` and releases what kept them alive (a lease, an instance
    /// record), returning once this backend's own view of the registry (which other instances'
    /// views follow) no longer holds them. The caller bounds the time it may take.
    async fn drain(&self, registrations: &[Registration]) -> Result<()>;

    /// Refreshes every registration in `registrations` (a snapshot): ONE request for all of
    /// them where the registry allows it (etcd: one keep-alive; Consul: one check pass). A
    /// backend without such a request acknowledges each with [`ack_each`].
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<()>;

    /// Every registration the registry holds, optionally for one topic
    /// ([`crate::Error::Unsupported`] where the registry cannot list).
    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>>;

    /// A stream of joins and leaves, optionally for one topic ([`crate::Error::Unsupported`] where
    /// the registry cannot watch).
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream>;
}

/// A heartbeat made of one `ack_alive` per registration: keeps going past failures (each
/// logged at warn) and returns the first error. For backends with no bulk refresh.
pub async fn ack_each<B: HeartbeatBackend + ?Sized>(
    backend: &B,
    registrations: &[Registration],
) -> Result<()> {
    let mut first_error = None;
    for registration in registrations {
        if let Err(error) = backend.ack_alive(registration).await {
            tracing::warn!(
                backend = backend.name(),
                topic = %registration.topic,
                host = %registration.host,
                %error,
                "heartbeat failed"
            );
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}
