//! [`Registry`]: a matchmaker over a registry, with listing and watching; what the facade's
//! `connect` returns, whatever the backend.

use async_trait::async_trait;

use crate::heartbeat::Metadata;
use crate::{
    HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, MatchMaker, MembershipStream,
    Registration, RegistrationInfo, Result,
};

/// A connected matchmaker of any backend: the [`MatchMaker`] contract plus the listing and
/// watching that registry backends support.
///
/// # Behaviour
/// - `backend_name()` is the URL scheme the matchmaker was built from (`memory`, `etcd`, ...).
/// - `list` and `subscribe` fail with [`crate::Error::Unsupported`] on static backends (localhost,
///   stub, ring), which keep no registry.
/// - `heartbeat_config()` is `None` on static backends.
/// - `registrations()` lists what this process registered (empty on static backends).
#[async_trait]
pub trait Registry: MatchMaker {
    /// The URL scheme of the backend, e.g. `memory`.
    fn backend_name(&self) -> &'static str;

    /// Every registration the registry holds, optionally for one topic.
    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>>;

    /// The membership, optionally of one topic: first a [`crate::MembershipEvent::Snapshot`],
    /// then joins and leaves since it, with no gap.
    ///
    /// Dropping the stream stops watching; nothing else is affected.
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream>;

    /// The heartbeat settings (TTL, interval, strategy), for backends that heartbeat.
    fn heartbeat_config(&self) -> Option<&HeartbeatConfig>;

    /// This process's own registrations, sorted.
    fn registrations(&self) -> Vec<Registration>;

    /// Registers `host` for `topic` carrying `metadata`, stored once with the registration and
    /// read back by `list` (see [`crate::heartbeat::metadata`] for the limits). Static backends
    /// validate it and keep nothing, as for `register`.
    async fn register_with(&self, topic: &str, host: &str, metadata: Metadata) -> Result<()>;

    /// Registers every `(topic, host)` pair at once (validated first; in bulk where the
    /// backend can: etcd writes transactions of 128 and one keep-alive). The default
    /// registers them one by one, which static backends and wrappers may keep.
    async fn register_many(&self, pairs: &[(&str, &str)]) -> Result<()> {
        for (topic, host) in pairs {
            self.register(topic, host).await?;
        }
        Ok(())
    }

    /// Stops heartbeating and leaves this process's registrations to expire by themselves, at
    /// most one TTL from now, releasing what only this process kept alive (Consul: its instance
    /// service). For a process that registers and exits without holding. Nothing to do on
    /// static backends.
    async fn leave_to_expire(&self) -> Result<()>;
}

#[async_trait]
impl<B: HeartbeatBackend> Registry for HeartbeatMatchMaker<B> {
    fn backend_name(&self) -> &'static str {
        self.backend().name()
    }

    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        HeartbeatMatchMaker::list(self, topic).await
    }

    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        HeartbeatMatchMaker::subscribe(self, topic)
    }

    fn heartbeat_config(&self) -> Option<&HeartbeatConfig> {
        Some(self.config())
    }

    fn registrations(&self) -> Vec<Registration> {
        HeartbeatMatchMaker::registrations(self)
    }

    async fn register_many(&self, pairs: &[(&str, &str)]) -> Result<()> {
        HeartbeatMatchMaker::register_many(self, pairs).await
    }

    async fn register_with(&self, topic: &str, host: &str, metadata: Metadata) -> Result<()> {
        HeartbeatMatchMaker::register_with(self, topic, host, metadata).await
    }

    async fn leave_to_expire(&self) -> Result<()> {
        HeartbeatMatchMaker::leave_to_expire(self).await
    }
}

impl std::fmt::Debug for dyn Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("backend", &self.backend_name())
            .field("heartbeat", &self.heartbeat_config())
            .finish_non_exhaustive()
    }
}
