//! `MemoryRegistry`: the shared in-process table of registrations and their expiry times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use matchmaker_core::heartbeat::LiveTopic;
use matchmaker_core::{
    MembershipEvent, MembershipHub, MembershipSnapshot, MembershipTable, Metadata, Registration,
    RegistrationInfo,
};
use tokio::sync::watch;
use tokio::time::Instant;

/// One shared in-process registry: what several matchmaker handles (several "hosts" in one
/// process) register into and look up from.
///
/// Cloning is cheap and every clone is the same registry. A registration is alive while
/// `now < expires_at`, measured on tokio's clock, so tests can pause and advance time.
/// Expired registrations are purged lazily, on the next access or when a subscriber's timer
/// fires; the purge delivers their `Left` events.
///
/// ```
/// use matchmaker_memory::MemoryRegistry;
/// let registry = MemoryRegistry::new();
/// assert!(registry.same_as(&registry.clone()));
/// assert!(!registry.same_as(&MemoryRegistry::new()));
/// assert!(MemoryRegistry::global().same_as(&MemoryRegistry::named("")));
/// ```
#[derive(Clone)]
pub struct MemoryRegistry {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// Joins and leaves, published under the `state` lock.
    pub(crate) hub: MembershipHub,
    /// Bumped whenever the earliest expiry may have moved earlier, to wake subscribers.
    deadline_changed: watch::Sender<()>,
}

#[derive(Default)]
struct State {
    /// The records, and the snapshots lookups read.
    table: MembershipTable<Record>,
    /// No record expires before this instant (a lower bound; exact right after a purge).
    earliest_expiry: Option<Instant>,
}

struct Record {
    expires_at: Instant,
    instance: Arc<str>,
    registered_at: SystemTime,
    metadata: Arc<Metadata>,
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRegistry {
    /// A new, empty registry, independent of every other.
    pub fn new() -> Self {
        let (deadline_changed, _) = watch::channel(());
        MemoryRegistry {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                hub: MembershipHub::new(),
                deadline_changed,
            }),
        }
    }

    /// The process-wide default registry (what a `memory://` URL names).
    pub fn global() -> Self {
        Self::named("")
    }

    /// The process-wide registry called `name`, created on first use; the empty name is
    /// [`MemoryRegistry::global`]. Named registries live until the process exits.
    pub fn named(name: &str) -> Self {
        static NAMED: OnceLock<Mutex<HashMap<String, MemoryRegistry>>> = OnceLock::new();
        let mut named = NAMED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        named.entry(name.to_owned()).or_default().clone()
    }

    /// True when `self` and `other` are handles to the same registry.
    pub fn same_as(&self, other: &MemoryRegistry) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// How many live registrations the registry holds, all topics together.
    pub fn len(&self) -> usize {
        self.inner.live_state().table.len()
    }

    /// True when no live registration is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for MemoryRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRegistry")
            .field("registrations", &self.len())
            .finish()
    }
}

impl Inner {
    /// The state with expired records purged (and their `Left` events sent).
    fn live_state(&self) -> MutexGuard<'_, State> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.purge(&mut state, Instant::now());
        state
    }

    fn purge(&self, state: &mut State, now: Instant) {
        if state.earliest_expiry.is_none_or(|earliest| earliest > now) {
            return;
        }
        let mut earliest: Option<Instant> = None;
        let alive = |_: &str, _: &str, record: &mut Record| {
            let alive = record.expires_at > now;
            if alive {
                earliest = Some(earliest.map_or(record.expires_at, |e| e.min(record.expires_at)));
            }
            alive
        };
        state.table.retain(alive, |topic, host, record| {
            tracing::info!(
                backend = "memory",
                topic,
                host,
                instance = &*record.instance,
                lived = ?record.registered_at.elapsed().unwrap_or_default(),
                "registration expired"
            );
            self.hub.publish(MembershipEvent::left(topic, host));
        });
        state.earliest_expiry = earliest;
    }

    /// Purges expired records now (what a subscriber's timer calls).
    pub(crate) fn purge_expired(&self) {
        drop(self.live_state());
    }

    /// The earliest instant at which a record may expire, if any record exists.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.live_state().earliest_expiry
    }

    /// The live registrations, optionally of one topic, as a snapshot for a membership stream
    /// (read under the lock changes are published under).
    pub(crate) fn snapshot(&self, topic: Option<&str>) -> MembershipSnapshot {
        let state = self.live_state();
        let members = state.table.members(topic, |record| record.metadata.clone());
        self.hub.snapshot(members)
    }

    pub(crate) fn subscribe_deadlines(&self) -> watch::Receiver<()> {
        self.deadline_changed.subscribe()
    }

    /// Creates or refreshes `(topic, host)` to expire `ttl` from now. Returns true when the
    /// record was created (it did not exist or had expired).
    pub(crate) fn refresh(
        &self,
        registration: &Registration,
        ttl: Duration,
        instance: &Arc<str>,
    ) -> bool {
        let (topic, host) = (registration.topic.as_str(), registration.host.as_str());
        let expires_at = Instant::now() + ttl;
        let mut state = self.live_state();
        let (created, moved_earlier) = match state.table.get_mut(topic, host) {
            Some(record) => {
                let moved_earlier = expires_at < record.expires_at;
                record.expires_at = expires_at;
                record.instance = instance.clone();
                record.metadata = registration.metadata.clone();
                (false, moved_earlier)
            }
            None => {
                let record = Record {
                    expires_at,
                    instance: instance.clone(),
                    registered_at: SystemTime::now(),
                    metadata: registration.metadata.clone(),
                };
                (state.table.insert(topic, host, record), true)
            }
        };
        if state
            .earliest_expiry
            .is_none_or(|earliest| expires_at < earliest)
        {
            state.earliest_expiry = Some(expires_at);
        }
        if created {
            self.hub.publish(MembershipEvent::joined(
                topic,
                host,
                registration.metadata.clone(),
            ));
        }
        drop(state);
        if moved_earlier {
            self.deadline_changed.send_replace(());
        }
        created
    }

    /// Removes `(topic, host)`. Returns true when a live record was removed.
    pub(crate) fn remove(&self, topic: &str, host: &str) -> bool {
        let mut state = self.live_state();
        let removed = state.table.remove(topic, host).is_some();
        if removed {
            // Under the state lock, as every change is published.
            self.hub.publish(MembershipEvent::left(topic, host));
        }
        removed
    }

    /// True when `(topic, host)` has a record that has not expired.
    pub(crate) fn is_alive(&self, topic: &str, host: &str) -> bool {
        self.live_state().table.contains(topic, host)
    }

    /// The live hosts of `topic`: the shared snapshot, rebuilt only after a change.
    pub(crate) fn live_topic(&self, topic: &str) -> Arc<LiveTopic> {
        self.live_state().table.live_topic(topic)
    }

    /// Every live registration, optionally of one topic, sorted by topic then host.
    pub(crate) fn list(&self, topic: Option<&str>) -> Vec<RegistrationInfo> {
        let now = Instant::now();
        let state = self.live_state();
        let info = |topic: &str, host: &str, record: &Record| RegistrationInfo {
            topic: topic.to_owned(),
            host: host.to_owned(),
            alive: true,
            ttl_left: Some(record.expires_at.saturating_duration_since(now)),
            instance: Some(record.instance.to_string()),
            metadata: (*record.metadata).clone(),
        };
        state
            .table
            .iter(topic)
            .map(|(t, h, r)| info(t, h, r))
            .collect()
    }
}
