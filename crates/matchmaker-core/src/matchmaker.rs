//! The `MatchMaker` trait: rules plus registration and heartbeats.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{Binding, Exchange, Result, Routes};

/// Answers "which hosts serve this key right now?" and, for registry backends, keeps this
/// process's registrations alive.
///
/// # Behaviour
/// - `add_binding(binding, exchange, last)` appends a rule.
/// - `queues(key)` validates the key, tries the rules in insertion order, appends each
///   matching rule's routes, and stops after the first matching rule whose `last` is true.
/// - No matching rule gives an empty list, not an error.
/// - Keys that fail [`crate::key`] validation give [`crate::Error::InvalidKey`] and touch
///   nothing.
/// - `register(topic, host)` remembers the pair, registers `topic.host` with the backend, then
///   acknowledges it alive. Dotted topics (`l3_agent.node1`) can be registered.
/// - `unregister(topic, host)` forgets that pair only; other topics of the same host stay.
/// - `ack_alive(topic, host)` refreshes the pair; if its record vanished it is re-created.
/// - `is_alive(topic, host)` is false for an unknown pair, not an error.
/// - `expire(topic, host)` removes that pair only.
/// - `send_heartbeats()` acknowledges every registered pair, from a snapshot, so registering
///   or unregistering during a beat is safe.
/// - `start_heartbeat()` fails with "Register before starting heartbeat." when nothing is
///   registered; otherwise beats at once and then every interval. `stop_heartbeat()` stops it,
///   is idempotent, and start after stop works. Dropping the matchmaker stops it.
/// - `drain(timeout)` (not in the original) is the graceful shutdown: it stops the heartbeat,
///   removes every registration of this matchmaker and what kept them alive (lease, instance
///   service), and returns once other instances' lookups no longer see them, with no TTL wait.
/// - Static matchmakers (no registry) accept and validate registrations but keep nothing:
///   `is_alive` is false and the heartbeat calls and `drain` do nothing, as in the original.
#[async_trait]
pub trait MatchMaker: Send + Sync {
    /// Appends a rule: when `binding` matches, run `exchange`; stop there if `last`.
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool);

    /// The routes for `key`, by the rules in insertion order.
    async fn queues(&self, key: &str) -> Result<Routes>;

    /// Registers `host` as serving `topic` and acknowledges it alive.
    async fn register(&self, topic: &str, host: &str) -> Result<()>;

    /// Removes the `(topic, host)` registration.
    async fn unregister(&self, topic: &str, host: &str) -> Result<()>;

    /// Acknowledges that `host` still serves `topic`, re-creating a vanished record.
    async fn ack_alive(&self, topic: &str, host: &str) -> Result<()>;

    /// True when `host` is registered for `topic` and its registration has not expired.
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool>;

    /// Explicitly expires the `(topic, host)` registration.
    async fn expire(&self, topic: &str, host: &str) -> Result<()>;

    /// Acknowledges every registration of this matchmaker once.
    async fn send_heartbeats(&self) -> Result<()>;

    /// Starts a background task that sends heartbeats at once and then every interval.
    ///
    /// Must be called from within a tokio runtime.
    fn start_heartbeat(&self) -> Result<()>;

    /// Stops the heartbeat task, if any. Idempotent.
    fn stop_heartbeat(&self);

    /// Stops the heartbeat, removes every registration of this matchmaker (and its lease or
    /// instance record), and returns once other instances' lookups cannot see them any more.
    /// Fails with [`crate::Error::Unavailable`] if that does not happen within `timeout`; what
    /// was not removed then stays registered here, so a second `drain` can finish the job.
    async fn drain(&self, timeout: std::time::Duration) -> Result<()>;
}

/// Conveniences over [`MatchMaker`], implemented for every matchmaker.
pub trait MatchMakerExt: MatchMaker {
    /// Appends a final rule (`last = true`) from owned binding and exchange values.
    fn add_rule<B, E>(&self, binding: B, exchange: E)
    where
        B: Binding + 'static,
        E: Exchange + 'static,
    {
        self.add_binding(Arc::new(binding), Arc::new(exchange), true);
    }
}

impl<M: MatchMaker + ?Sized> MatchMakerExt for M {}

/// Forwards every `MatchMaker` method through a smart pointer, so `Arc<dyn MatchMaker>` and
/// `Box<dyn MatchMaker>` can be passed wherever a matchmaker is expected.
macro_rules! forward_through {
    ($pointer:ident) => {
        #[async_trait]
        impl<M: MatchMaker + ?Sized> MatchMaker for $pointer<M> {
            fn add_binding(
                &self,
                binding: Arc<dyn Binding>,
                exchange: Arc<dyn Exchange>,
                last: bool,
            ) {
                (**self).add_binding(binding, exchange, last)
            }
            async fn queues(&self, key: &str) -> Result<Routes> {
                (**self).queues(key).await
            }
            async fn register(&self, topic: &str, host: &str) -> Result<()> {
                (**self).register(topic, host).await
            }
            async fn unregister(&self, topic: &str, host: &str) -> Result<()> {
                (**self).unregister(topic, host).await
            }
            async fn ack_alive(&self, topic: &str, host: &str) -> Result<()> {
                (**self).ack_alive(topic, host).await
            }
            async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
                (**self).is_alive(topic, host).await
            }
            async fn expire(&self, topic: &str, host: &str) -> Result<()> {
                (**self).expire(topic, host).await
            }
            async fn send_heartbeats(&self) -> Result<()> {
                (**self).send_heartbeats().await
            }
            fn start_heartbeat(&self) -> Result<()> {
                (**self).start_heartbeat()
            }
            fn stop_heartbeat(&self) {
                (**self).stop_heartbeat()
            }
            async fn drain(&self, timeout: std::time::Duration) -> Result<()> {
                (**self).drain(timeout).await
            }
        }
    };
}

forward_through!(Arc);
forward_through!(Box);
