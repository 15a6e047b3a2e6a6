//! [`Registry`]: what [`crate::connect`] returns, whatever the backend.

use std::sync::Arc;

use async_trait::async_trait;
use matchmaker_core::{
    Binding, Error, Exchange, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, MatchMaker,
    MembershipStream, Registration, RegistrationInfo, Result, Route, StaticMatchMaker,
};

/// A connected matchmaker of any backend: the [`MatchMaker`] contract plus the listing and
/// watching that registry backends support.
///
/// # Behaviour
/// - `backend_name()` is the URL scheme the matchmaker was built from (`memory`, `etcd`, ...).
/// - `list` and `subscribe` fail with [`Error::Unsupported`] on static backends (localhost,
///   stub, ring), which keep no registry.
/// - `heartbeat_config()` is `None` on static backends.
/// - `registrations()` lists what this process registered (empty on static backends).
#[async_trait]
pub trait Registry: MatchMaker {
    /// The URL scheme of the backend, e.g. `memory`.
    fn backend_name(&self) -> &'static str;

    /// Every registration the registry holds, optionally for one topic.
    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>>;

    /// A stream of joins and leaves, optionally for one topic.
    ///
    /// Dropping the stream stops watching; nothing else is affected.
    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream>;

    /// The heartbeat settings (TTL, interval, strategy), for backends that heartbeat.
    fn heartbeat_config(&self) -> Option<&HeartbeatConfig>;

    /// This process's own registrations, sorted.
    fn registrations(&self) -> Vec<Registration>;

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

    async fn leave_to_expire(&self) -> Result<()> {
        HeartbeatMatchMaker::leave_to_expire(self).await
    }
}

/// A [`StaticMatchMaker`] that knows which scheme built it, so errors can name it.
#[derive(Debug)]
pub struct NamedStaticMatchMaker {
    name: &'static str,
    inner: StaticMatchMaker,
}

impl NamedStaticMatchMaker {
    /// Wraps `inner`, built by the backend named `name`.
    pub fn new(name: &'static str, inner: StaticMatchMaker) -> Self {
        NamedStaticMatchMaker { name, inner }
    }

    /// The wrapped matchmaker.
    pub fn inner(&self) -> &StaticMatchMaker {
        &self.inner
    }
}

#[async_trait]
impl Registry for NamedStaticMatchMaker {
    fn backend_name(&self) -> &'static str {
        self.name
    }

    async fn list(&self, _topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        Err(Error::Unsupported {
            backend: self.name,
            operation: "list",
        })
    }

    fn subscribe(&self, _topic: Option<&str>) -> Result<MembershipStream> {
        Err(Error::Unsupported {
            backend: self.name,
            operation: "subscribe",
        })
    }

    fn heartbeat_config(&self) -> Option<&HeartbeatConfig> {
        None
    }

    fn registrations(&self) -> Vec<Registration> {
        Vec::new()
    }

    async fn leave_to_expire(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl MatchMaker for NamedStaticMatchMaker {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.inner.add_binding(binding, exchange, last);
    }
    async fn queues(&self, key: &str) -> Result<Vec<Route>> {
        self.inner.queues(key).await
    }
    async fn drain(&self, timeout: std::time::Duration) -> Result<()> {
        self.inner.drain(timeout).await
    }
    async fn register(&self, topic: &str, host: &str) -> Result<()> {
        self.inner.register(topic, host).await
    }
    async fn unregister(&self, topic: &str, host: &str) -> Result<()> {
        self.inner.unregister(topic, host).await
    }
    async fn ack_alive(&self, topic: &str, host: &str) -> Result<()> {
        self.inner.ack_alive(topic, host).await
    }
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        self.inner.is_alive(topic, host).await
    }
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.inner.expire(topic, host).await
    }
    async fn send_heartbeats(&self) -> Result<()> {
        self.inner.send_heartbeats().await
    }
    fn start_heartbeat(&self) -> Result<()> {
        self.inner.start_heartbeat()
    }
    fn stop_heartbeat(&self) {
        self.inner.stop_heartbeat()
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
