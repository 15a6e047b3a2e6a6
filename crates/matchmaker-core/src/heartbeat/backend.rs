//! The hooks a registry backend implements.

use std::time::Duration;

use async_trait::async_trait;

use std::sync::Arc;

use crate::heartbeat::{LiveTopic, Metadata};
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
///
/// A backend answers from its membership state through [`LiveTopics`], so a topic's
/// [`LiveTopic`] (its sorted hosts and their routes) is built once per change and shared by
/// every lookup after it.
///
/// [`LiveTopics`]: crate::heartbeat::LiveTopics
#[async_trait]
pub trait HostDirectory: Send + Sync {
    /// `topic`'s live hosts, if this directory can tell without waiting (a cache that already
    /// holds the topic): what a lookup tries first. `None` sends it to [`Self::live_topic`].
    fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>>;

    /// `topic`'s live hosts, waiting for the directory to load them if it must (a first
    /// lookup of a topic a cache does not watch yet).
    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>>;
}

/// The hooks a registry backend implements to plug into [`super::HeartbeatMatchMaker`].
///
/// Every input has been validated by [`key`] before a hook is called.
///
/// # Behaviour
/// - `backend_register_many` records registrations and leaves each alive for a full TTL; a
///   single `register` reaches it too, batched with the concurrent ones.
/// - `backend_unregister` removes that registration only.
/// - `ack_alive` refreshes the registration; if its record vanished it re-creates it.
/// - `is_alive` is false for an unknown pair, not an error.
/// - `expire` removes that pair only.
/// - `heartbeat` refreshes all of this process's registrations, one request where the
///   registry allows it, and reports what the registry lost ([`Beat`]). The matchmaker
///   restores exactly that, in bulk, through `backend_register_many`.
/// - What must exist is the matchmaker's to know: each hook is handed the registrations it
///   works on, and a backend keeps no set of them.
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
/// use std::sync::Arc;
///
/// use matchmaker_core::heartbeat::{ack_each, Beat, LiveTopic};
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
///     fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
///         let set = self.0.lock().unwrap();
///         let hosts = set.iter().filter(|r| r.topic == topic).map(|r| r.host.as_str());
///         Some(Ok(Arc::new(LiveTopic::new(topic, hosts))))
///     }
///     async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
///         self.live_topic_now(topic).expect("never waits")
///     }
/// }
///
/// #[async_trait]
/// impl HeartbeatBackend for SetRegistry {
///     fn name(&self) -> &'static str {
///         "set"
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
///         self.0.lock().unwrap().insert(registration.clone()); // re-create it if it vanished
///         Ok(())
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
///     async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
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
/// A real registry implements `heartbeat` as one request for all registrations, keeps its
/// lookups' snapshots in [`LiveTopics`](crate::heartbeat::LiveTopics), and implements `list`
/// and `subscribe`; run the conformance suite (`matchmaker-conformance`) against it.
#[async_trait]
pub trait HeartbeatBackend: HostDirectory + 'static {
    /// Short backend name for errors and logs, e.g. `memory`.
    fn name(&self) -> &'static str;

    /// Records every registration of `registrations` and leaves each alive for a full TTL: one
    /// batch of writes and one refresh where the registry allows it. What `register`,
    /// `register_many` and the restore of what a [`Beat`] reported lost all call.
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

    /// Refreshes every registration in `registrations` (the matchmaker's snapshot, sorted):
    /// ONE request for all of them where the registry allows it (etcd: one keep-alive; Consul:
    /// one check pass). Reports what the registry lost, which the matchmaker then restores; a
    /// backend without a bulk refresh acknowledges each with [`ack_each`].
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat>;

    /// Every registration the registry holds, optionally for one topic
    /// ([`crate::Error::Unsupported`] where the registry cannot list).
    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>>;

    /// The membership, optionally of one topic: a snapshot first, then joins and leaves
    /// ([`crate::Error::Unsupported`] where the registry cannot watch).
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream>;
}

/// What a heartbeat found out about this process's registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Beat {
    /// Every registration is alive (or was re-created by the beat itself).
    Alive,
    /// These registrations are gone from the registry (deleted or expired from outside): the
    /// matchmaker restores those it still holds.
    Lost(Vec<Registration>),
    /// Every registration of this process is gone (a lost lease, an agent that restarted and
    /// forgot this process): the matchmaker restores them all.
    LostAll,
}

/// A heartbeat made of one `ack_alive` per registration, each re-creating what vanished:
/// keeps going past failures (each logged at warn) and returns the first error. For backends
/// with no bulk refresh.
pub async fn ack_each<B: HeartbeatBackend + ?Sized>(
    backend: &B,
    registrations: &[Registration],
) -> Result<Beat> {
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
    first_error.map_or(Ok(Beat::Alive), Err)
}
