//! A real memory registry with the faults the discovery tests need: subscriptions that fail,
//! and subscription streams that pause (like a watch on an unreachable server) or end.
#![allow(dead_code)] // each test file uses a part

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt};
use matchmaker_core::{
    Binding, Error, Exchange, HeartbeatConfig, MatchMaker, MembershipStream, Registration,
    RegistrationInfo, Registry, Result, Routes,
};
use matchmaker_memory::{MemoryMatchMaker, MemoryRegistry};
use tokio::sync::watch;

pub const TOPIC: &str = "echo";

pub fn config() -> HeartbeatConfig {
    HeartbeatConfig::with_ttl(Duration::from_secs(2))
}

/// A matchmaker (one "process") on `registry`.
pub fn member_of(registry: &MemoryRegistry) -> Arc<MemoryMatchMaker> {
    Arc::new(matchmaker_memory::connect(registry, config()).unwrap())
}

/// The client's registry: a memory matchmaker with faults switched on by the test.
pub struct Faulty {
    inner: MemoryMatchMaker,
    /// How many of the next subscriptions fail with `Error::Unavailable`.
    pub failing_subscribes: AtomicUsize,
    /// Every subscription fails with `Error::Unauthorized` (a permanent error).
    pub refuse_subscribes: AtomicBool,
    /// Subscriptions made so far, failed ones included.
    pub subscribes: AtomicUsize,
    /// Subscription streams alive right now.
    pub live_subscriptions: Arc<AtomicUsize>,
    paused: watch::Sender<bool>,
    ended: watch::Sender<u64>,
}

impl Faulty {
    pub fn new(registry: &MemoryRegistry) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: matchmaker_memory::connect(registry, config()).unwrap(),
            failing_subscribes: AtomicUsize::new(0),
            refuse_subscribes: AtomicBool::new(false),
            subscribes: AtomicUsize::new(0),
            live_subscriptions: Arc::new(AtomicUsize::new(0)),
            paused: watch::channel(false).0,
            ended: watch::channel(0).0,
        })
    }

    /// From now on subscription streams deliver nothing, as a watch on an unreachable server.
    pub fn pause_streams(&self) {
        self.paused.send_replace(true);
    }

    /// Ends the subscription streams open now; later ones are neither paused nor ended (the
    /// server is back).
    pub fn end_streams(&self) {
        self.paused.send_replace(false);
        self.ended.send_modify(|generation| *generation += 1);
    }
}

struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Registry for Faulty {
    fn backend_name(&self) -> &'static str {
        "faulty-memory"
    }

    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        Registry::list(&self.inner, topic).await
    }

    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        self.subscribes.fetch_add(1, Ordering::SeqCst);
        if self.refuse_subscribes.load(Ordering::SeqCst) {
            return Err(Error::Unauthorized {
                backend: "faulty-memory",
                message: "no token".into(),
            });
        }
        let failing =
            self.failing_subscribes
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Error::unavailable("faulty-memory", "connection refused"));
        }
        let events = Registry::subscribe(&self.inner, topic)?;
        self.live_subscriptions.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard(self.live_subscriptions.clone());
        let mut paused = self.paused.subscribe();
        let mut ended = self.ended.subscribe();
        let generation = *ended.borrow();
        let paused = async move {
            let _ = paused.wait_for(|paused| *paused).await;
        };
        let ended = async move {
            let _ = ended.wait_for(|now| *now > generation).await;
        };
        let gated = events
            .take_until(paused)
            .chain(stream::pending())
            .take_until(ended)
            .map(move |event| {
                let _alive = &guard;
                event
            });
        Ok(Box::pin(gated))
    }

    fn heartbeat_config(&self) -> Option<&HeartbeatConfig> {
        Registry::heartbeat_config(&self.inner)
    }

    fn registrations(&self) -> Vec<Registration> {
        Registry::registrations(&self.inner)
    }

    async fn leave_to_expire(&self) -> Result<()> {
        Registry::leave_to_expire(&self.inner).await
    }

    async fn register_with(
        &self,
        topic: &str,
        host: &str,
        metadata: matchmaker_core::Metadata,
    ) -> Result<()> {
        Registry::register_with(&self.inner, topic, host, metadata).await
    }
}

#[async_trait]
impl MatchMaker for Faulty {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.inner.add_binding(binding, exchange, last)
    }
    async fn queues(&self, key: &str) -> Result<Routes> {
        self.inner.queues(key).await
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
    async fn drain(&self, timeout: Duration) -> Result<()> {
        self.inner.drain(timeout).await
    }
}
