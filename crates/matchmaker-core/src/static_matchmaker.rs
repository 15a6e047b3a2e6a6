//! A matchmaker with rules and no registry: the original `MatchMakerBase`.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    key, Binding, DirectBinding, DirectExchange, Exchange, FanoutBinding, LocalhostExchange,
    MatchMaker, Result, Routes, Rules, StubExchange, TopicBinding,
};

/// A matchmaker whose answers come from its rules alone (localhost, stub, ring).
///
/// Registration calls validate their input and keep nothing; `is_alive` is always false and
/// the heartbeat calls do nothing, as in the original `MatchMakerBase`.
#[derive(Debug, Default)]
pub struct StaticMatchMaker {
    rules: Rules,
}

impl StaticMatchMaker {
    /// A matchmaker with no rules: every lookup is empty until rules are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// The original `MatchMakerLocalhost`: fanout and bare topics go to `host`, directed keys
    /// to their own host. Fanout is tried first.
    pub fn localhost(host: impl Into<String>) -> Result<Self> {
        let host = host.into();
        key::validate_host(&host)?;
        let local: Arc<dyn Exchange> = Arc::new(LocalhostExchange::new(host));
        let matchmaker = Self::new();
        matchmaker.add_binding(Arc::new(FanoutBinding), local.clone(), true);
        matchmaker.add_binding(Arc::new(DirectBinding), Arc::new(DirectExchange), true);
        matchmaker.add_binding(Arc::new(TopicBinding), local, true);
        Ok(matchmaker)
    }

    /// The original `MatchMakerStub`: every key is returned untouched, with no host.
    pub fn stub() -> Self {
        let stub: Arc<dyn Exchange> = Arc::new(StubExchange);
        let matchmaker = Self::new();
        matchmaker.add_binding(Arc::new(FanoutBinding), stub.clone(), true);
        matchmaker.add_binding(Arc::new(DirectBinding), stub.clone(), true);
        matchmaker.add_binding(Arc::new(TopicBinding), stub, true);
        matchmaker
    }

    /// The rules behind this matchmaker.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }
}

#[async_trait]
impl MatchMaker for StaticMatchMaker {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.rules.add(binding, exchange, last);
    }

    async fn queues(&self, key: &str) -> Result<Routes> {
        key::parse_key(key)?;
        self.rules.queues(key).await
    }

    async fn register(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)
    }

    async fn unregister(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)
    }

    async fn ack_alive(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)
    }

    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        key::validate_pair(topic, host)?;
        Ok(false)
    }

    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)
    }

    async fn send_heartbeats(&self) -> Result<()> {
        Ok(())
    }

    fn start_heartbeat(&self) -> Result<()> {
        tracing::debug!("static matchmaker: no registration or heartbeat to start");
        Ok(())
    }

    fn stop_heartbeat(&self) {
        tracing::debug!("static matchmaker: no heartbeat to stop");
    }

    async fn drain(&self, _timeout: std::time::Duration) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, InvalidKeyReason};

    /// The original `MatchMakerLocalhost(host)` took any string and built queue names from it.
    #[test]
    fn localhost_with_an_invalid_host_is_an_invalid_key() {
        for bad in ["", "node 1", "a/b", ".hidden", "h\n"] {
            assert!(
                matches!(
                    StaticMatchMaker::localhost(bad),
                    Err(Error::InvalidKey { .. })
                ),
                "{bad:?} was accepted"
            );
        }
        assert!(matches!(
            StaticMatchMaker::localhost("node 1"),
            Err(Error::InvalidKey {
                reason: InvalidKeyReason::ForbiddenHostCharacter { ch: ' ' },
                ..
            })
        ));
        assert!(StaticMatchMaker::localhost("node-1.example.com").is_ok());
    }
}
