//! `MemoryBackend`: the heartbeat hooks over a [`MemoryRegistry`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic, MIN_TTL};
use matchmaker_core::{
    telemetry, Error, HeartbeatBackend, HostDirectory, MembershipStream, Registration,
    RegistrationInfo, Result,
};

use crate::registry::MemoryRegistry;
use crate::subscription;

/// Backend name used in errors, logs and metrics.
pub const BACKEND_NAME: &str = "memory";

/// One matchmaker's view of a [`MemoryRegistry`]: its records expire `ttl` after their last
/// acknowledgement and carry this backend's instance id.
///
/// # Behaviour
/// - `backend_register_many` and `ack_alive` (re)create each record, alive until `now + ttl`
///   (tokio time); `ack_alive` of a vanished record re-creates it (upstream bug 1419718).
/// - `backend_unregister` and `expire` remove that pair only, whoever registered it.
/// - `is_alive` is true while `now < expires_at`; false for an unknown pair.
/// - lookups list hosts sorted; `list` gives `ttl_left` and the instance id.
/// - `subscribe` delivers joins, explicit leaves and leaves by expiry (see the crate docs).
#[derive(Clone)]
pub struct MemoryBackend {
    registry: MemoryRegistry,
    ttl: Duration,
    instance: Arc<str>,
}

impl MemoryBackend {
    /// A backend over `registry` whose registrations live `ttl` without a heartbeat.
    ///
    /// Fails with [`Error::InvalidConfig`] when `ttl` is below [`MIN_TTL`] (1 s).
    pub fn new(registry: &MemoryRegistry, ttl: Duration) -> Result<Self> {
        if ttl < MIN_TTL {
            return Err(Error::InvalidConfig(format!(
                "memory backend ttl is {ttl:?}, the minimum is {MIN_TTL:?}"
            )));
        }
        static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);
        let instance = format!(
            "{}-{}",
            std::process::id(),
            NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed)
        );
        Ok(MemoryBackend {
            registry: registry.clone(),
            ttl,
            instance: instance.into(),
        })
    }

    /// The registry this backend writes to.
    pub fn registry(&self) -> &MemoryRegistry {
        &self.registry
    }

    /// How long a registration lives without a heartbeat.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// This backend's instance id (`<pid>-<n>`), recorded with each registration.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("ttl", &self.ttl)
            .field("instance", &self.instance)
            .finish()
    }
}

#[async_trait]
impl HostDirectory for MemoryBackend {
    fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        Some(Ok(self.registry.inner.live_topic(topic)))
    }

    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        Ok(self.registry.inner.live_topic(topic))
    }
}

#[async_trait]
impl HeartbeatBackend for MemoryBackend {
    fn name(&self) -> &'static str {
        BACKEND_NAME
    }
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        for registration in registrations {
            self.registry
                .inner
                .refresh(registration, self.ttl, &self.instance);
        }
        Ok(())
    }

    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        self.registry
            .inner
            .remove(&registration.topic, &registration.host);
        Ok(())
    }

    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        let recreated = self
            .registry
            .inner
            .refresh(registration, self.ttl, &self.instance);
        if recreated {
            tracing::warn!(
                backend = BACKEND_NAME,
                topic = %registration.topic,
                host = %registration.host,
                "registration had vanished; re-created it"
            );
            telemetry::reregistered(BACKEND_NAME, 1);
        }
        Ok(())
    }

    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        Ok(self.registry.inner.is_alive(topic, host))
    }

    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.registry.inner.remove(topic, host);
        Ok(())
    }

    /// Removes each record: other instances share this registry and see it at once.
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        for registration in registrations {
            self.registry
                .inner
                .remove(&registration.topic, &registration.host);
        }
        Ok(())
    }

    /// Nothing to do: every record already expires one TTL after its last refresh.
    async fn leave_to_expire(&self, _registrations: &[Registration]) -> Result<()> {
        Ok(())
    }

    /// One refresh per registration, re-creating what expired: the records are in this
    /// process, so no request is saved by batching, and nothing is left for the matchmaker to
    /// restore.
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        matchmaker_core::heartbeat::ack_each(self, registrations).await
    }

    async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        Ok(self.registry.inner.list(topic))
    }

    fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        Ok(subscription::subscribe(&self.registry.inner, topic))
    }
}
