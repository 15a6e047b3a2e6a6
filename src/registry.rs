//! [`NamedStaticMatchMaker`]: the static backends as a [`Registry`] (defined in
//! `matchmaker-core`, re-exported here), which is what [`crate::connect`] returns.

use std::sync::Arc;

use async_trait::async_trait;
use matchmaker_core::{
    Binding, Error, Exchange, HeartbeatConfig, MatchMaker, MembershipStream, Registration,
    RegistrationInfo, Registry, Result, Routes, StaticMatchMaker,
};

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

    async fn register_with(
        &self,
        topic: &str,
        host: &str,
        metadata: matchmaker_core::heartbeat::Metadata,
    ) -> Result<()> {
        matchmaker_core::heartbeat::validate_metadata(&metadata)?;
        self.inner.register(topic, host).await
    }
}

#[async_trait]
impl MatchMaker for NamedStaticMatchMaker {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.inner.add_binding(binding, exchange, last);
    }
    async fn queues(&self, key: &str) -> Result<Routes> {
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
