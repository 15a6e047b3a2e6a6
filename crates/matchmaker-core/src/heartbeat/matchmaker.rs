//! `HeartbeatMatchMaker`: registrations, the heartbeat task and live lookups over a backend.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use async_trait::async_trait;
use tokio::task::JoinHandle;

use super::register_batches::{as_held, RegisterBatches};
use super::registration_set::RegistrationSet;
use super::to_completion::to_completion;
use super::{
    validate_metadata, Beat, HeartbeatBackend, HeartbeatConfig, HostDirectory, LiveFanoutExchange,
    LiveTopicExchange, Metadata, Registration, RegistrationInfo,
};
use crate::{
    key, Binding, DirectBinding, DirectExchange, Error, Exchange, FanoutBinding, MatchMaker,
    MembershipStream, Result, Routes, Rules, TopicBinding,
};

/// A matchmaker over a registry backend: the original `HeartbeatMatchMakerBase`, fixed.
///
/// Rules, in order: fanout -> every live host, directed -> the key itself, bare topic -> one
/// live host by the configured strategy. See [`crate::heartbeat`] for what differs from the
/// original. Dropping it stops its heartbeat task.
pub struct HeartbeatMatchMaker<B: HeartbeatBackend> {
    shared: Arc<Shared<B>>,
    heart: Mutex<Option<JoinHandle<()>>>,
}

struct Shared<B> {
    backend: Arc<B>,
    config: HeartbeatConfig,
    rules: Rules,
    /// What must exist: the one set. Beats hand the backend a snapshot of it and restore from
    /// it what the backend reports lost.
    registrations: Mutex<RegistrationSet>,
    /// Single registers waiting to share one bulk write.
    batches: RegisterBatches,
    /// What a beat found lost and could not restore (the registry failed the write): the next
    /// beat restores it with whatever it finds lost then, whatever the backend reports.
    unfinished_restores: Mutex<Vec<Registration>>,
    /// What must not exist: pairs whose removal failed (the registry was unreachable). Every
    /// beat retries them, so a failed unregister never leaves a record this process's
    /// heartbeat keeps alive.
    unfinished_removals: Mutex<BTreeSet<Registration>>,
    /// Beats hold it shared, `unregister` exclusively: a beat that took its snapshot before an
    /// unregister finishes first, so it cannot re-create the pair after it was removed.
    beat_gate: tokio::sync::RwLock<()>,
    /// `matchmaker_lookups_total` of this backend, resolved once.
    lookups: crate::telemetry::Counter,
}

impl<B: HeartbeatBackend> Shared<B> {
    fn registrations(&self) -> MutexGuard<'_, RegistrationSet> {
        lock(&self.registrations)
    }

    fn unfinished_removals(&self) -> MutexGuard<'_, BTreeSet<Registration>> {
        lock(&self.unfinished_removals)
    }

    /// One beat: refresh what must exist and restore what the registry lost, then retry the
    /// removals that failed earlier. The first error is returned, after both were tried.
    async fn send_heartbeats(&self) -> Result<()> {
        let _beat = self.beat_gate.read().await;
        // A snapshot: (un)registering while a beat is under way is safe (upstream bug 1432966).
        let snapshot = self.registrations().snapshot();
        let mut outcome = Ok(());
        if !snapshot.is_empty() {
            outcome = match self.backend.heartbeat(&snapshot).await {
                Ok(beat) => self.restore(beat, &snapshot).await,
                Err(error) => Err(error),
            };
            crate::telemetry::heartbeat_sent(self.backend.name());
            tracing::debug!(
                backend = self.backend.name(),
                registrations = snapshot.len(),
                ok = outcome.is_ok(),
                "heartbeat sent"
            );
        }
        let removals = self.finish_removals().await;
        outcome.and(removals)
    }

    /// Writes again, in one bulk write, what `beat` reports the registry lost, as the set
    /// holds it now (a pair unregistered since is left out).
    async fn restore(&self, beat: Beat, snapshot: &[Registration]) -> Result<()> {
        let mut lost = std::mem::take(&mut *lock(&self.unfinished_restores));
        match beat {
            Beat::Alive => {}
            Beat::Lost(reported) => lost.extend(reported),
            Beat::LostAll => lost = snapshot.to_vec(),
        }
        let lost = as_held(&self.registrations, lost);
        if lost.is_empty() {
            return Ok(());
        }
        tracing::warn!(
            backend = self.backend.name(),
            registrations = lost.len(),
            "the registry lost registrations of this process; restoring them"
        );
        if let Err(error) = self.backend.backend_register_many(&lost).await {
            *lock(&self.unfinished_restores) = lost;
            return Err(error);
        }
        crate::telemetry::reregistered(self.backend.name(), lost.len() as u64);
        Ok(())
    }

    /// Removes the pairs whose removal failed before (unless registered again since); stops
    /// at the first that fails again.
    async fn finish_removals(&self) -> Result<()> {
        let pending: Vec<Registration> = self.unfinished_removals().iter().cloned().collect();
        for registration in pending {
            if self.registrations().get(&registration).is_none() {
                self.backend.backend_unregister(&registration).await?;
                tracing::info!(
                    backend = self.backend.name(),
                    topic = %registration.topic,
                    host = %registration.host,
                    "completed a removal that failed earlier"
                );
            }
            self.unfinished_removals().remove(&registration);
        }
        Ok(())
    }

    /// Removes `registration` from the registry; if that fails, the next beats retry it.
    async fn remove_or_retry_later(&self, registration: &Registration) -> Result<()> {
        let outcome = self.backend.backend_unregister(registration).await;
        let mut unfinished = self.unfinished_removals();
        match &outcome {
            Ok(()) => unfinished.remove(registration),
            Err(_) => unfinished.insert(registration.clone()),
        };
        outcome
    }
}

/// The registry-changing calls, each run to completion by `to_completion` (cancel safety).
impl<B: HeartbeatBackend> Shared<B> {
    /// Adds `registration` to the set and writes it, in one bulk write with the concurrent
    /// registers; on error the pair (if this call added it) is removed from the set and the
    /// registry again (the write may have reached the registry before failing).
    async fn register(self: Arc<Self>, registration: Registration) -> Result<()> {
        self.unfinished_removals().remove(&registration);
        let newly_added = self.registrations().replace(registration.clone()).is_none();
        let outcome = self
            .batches
            .register(&*self.backend, &self.registrations, registration.clone())
            .await;
        let (topic, host) = (&registration.topic, &registration.host);
        tracing::debug!(%topic, %host, ok = outcome.is_ok(), "matchmaker registered");
        if outcome.is_err() && newly_added {
            self.roll_back(std::slice::from_ref(&registration)).await;
        }
        outcome
    }

    /// Forgets `registrations` and removes them from the registry: the caller of the failed
    /// write that added them sees its error and owns the retry, so they must not outlive it.
    async fn roll_back(&self, registrations: &[Registration]) {
        {
            let mut set = self.registrations();
            for registration in registrations {
                set.remove(registration);
            }
        }
        for registration in registrations {
            if let Err(error) = self.remove_or_retry_later(registration).await {
                tracing::warn!(topic = %registration.topic, host = %registration.host, %error, "could not roll back a failed register; the next beats retry");
            }
        }
    }

    /// Adds every registration to the set and writes them in bulk; on error the ones this
    /// call added are rolled back.
    async fn register_many(self: Arc<Self>, registrations: Vec<Registration>) -> Result<()> {
        {
            let mut unfinished = self.unfinished_removals();
            for registration in &registrations {
                unfinished.remove(registration);
            }
        }
        let added: Vec<Registration> = {
            let mut set = self.registrations();
            registrations
                .iter()
                .filter(|registration| set.replace((*registration).clone()).is_none())
                .cloned()
                .collect()
        };
        // Each pair once (a pair given twice would be two writes of one key in one batch).
        let registrations = as_held(&self.registrations, registrations);
        if registrations.is_empty() {
            return Ok(());
        }
        let outcome = self.backend.backend_register_many(&registrations).await;
        if outcome.is_err() {
            self.roll_back(&added).await;
        }
        tracing::debug!(
            registrations = registrations.len(),
            ok = outcome.is_ok(),
            "matchmaker registered in bulk"
        );
        outcome
    }

    /// Forgets `registration` (only this pair: the host's other topics stay) and removes it
    /// from the registry.
    async fn unregister(self: Arc<Self>, registration: Registration) -> Result<()> {
        // Waits for an in-flight beat, whose snapshot may hold this pair (no phantom re-creation).
        let _no_beat = self.beat_gate.write().await;
        self.registrations().remove(&registration);
        self.remove_or_retry_later(&registration).await?;
        tracing::info!(topic = %registration.topic, host = %registration.host, "matchmaker unregistered");
        Ok(())
    }
}

impl<B: HeartbeatBackend> HeartbeatMatchMaker<B> {
    /// Wraps `backend` after validating `config`.
    pub fn new(backend: B, config: HeartbeatConfig) -> Result<Self> {
        Self::with_shared_backend(Arc::new(backend), config)
    }

    /// Like [`HeartbeatMatchMaker::new`] for a backend that is already shared.
    pub fn with_shared_backend(backend: Arc<B>, config: HeartbeatConfig) -> Result<Self> {
        config.validate()?;
        let directory: Arc<dyn HostDirectory> = backend.clone();
        let rules = Rules::new();
        rules.add(
            Arc::new(FanoutBinding),
            Arc::new(LiveFanoutExchange::new(directory.clone())),
            true,
        );
        rules.add(Arc::new(DirectBinding), Arc::new(DirectExchange), true);
        rules.add(
            Arc::new(TopicBinding),
            Arc::new(LiveTopicExchange::new(directory, config.strategy)),
            true,
        );
        Ok(HeartbeatMatchMaker {
            shared: Arc::new(Shared {
                lookups: crate::telemetry::counter_of(crate::telemetry::LOOKUPS, backend.name()),
                backend,
                config,
                rules,
                registrations: Mutex::new(RegistrationSet::default()),
                batches: RegisterBatches::default(),
                unfinished_restores: Mutex::new(Vec::new()),
                unfinished_removals: Mutex::new(BTreeSet::new()),
                beat_gate: tokio::sync::RwLock::new(()),
            }),
            heart: Mutex::new(None),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<B> {
        &self.shared.backend
    }

    /// The validated configuration.
    pub fn config(&self) -> &HeartbeatConfig {
        &self.shared.config
    }

    /// This process's registrations, sorted.
    pub fn registrations(&self) -> Vec<Registration> {
        self.shared.registrations().iter().cloned().collect()
    }

    /// The hosts this process has registered, derived from its registrations.
    pub fn hosts(&self) -> BTreeSet<String> {
        self.shared
            .registrations()
            .iter()
            .map(|registration| registration.host.clone())
            .collect()
    }

    /// True while the heartbeat task runs.
    pub fn is_heartbeating(&self) -> bool {
        self.heart()
            .as_ref()
            .is_some_and(|handle| !handle.is_finished())
    }

    /// Registers `host` for `topic` carrying `metadata` (validated like keys are; see
    /// [`crate::heartbeat::metadata`]), stored once with the registration and read back by
    /// `list`. Registering the pair again replaces its metadata.
    ///
    /// Cancel-safe, like `register`, `register_many` and `unregister`: once validated, the
    /// call's work runs to its end on the runtime even if this future is dropped, so a dropped
    /// call leaves a registration that is written and heartbeated (or, if the backend failed,
    /// rolled back: nothing), never one this process lists but the registry lacks.
    pub async fn register_with(&self, topic: &str, host: &str, metadata: Metadata) -> Result<()> {
        key::validate_pair(topic, host)?;
        validate_metadata(&metadata)?;
        let registration = Registration::with_metadata(topic, host, metadata);
        let shared = self.shared.clone();
        to_completion(self.shared.backend.name(), shared.register(registration)).await
    }

    /// Registers every `(topic, host)` of `pairs` at once: all are validated first (one invalid
    /// pair is `Error::InvalidKey` and registers nothing), then the backend writes them in bulk
    /// and refreshes them once (etcd: transactions of 128 and one keep-alive, instead of three
    /// round trips per pair). On error, the pairs this call added are rolled back.
    pub async fn register_many(&self, pairs: &[(&str, &str)]) -> Result<()> {
        for (topic, host) in pairs {
            key::validate_pair(topic, host)?;
        }
        let registrations: Vec<Registration> = pairs
            .iter()
            .map(|(topic, host)| Registration::new(*topic, *host))
            .collect();
        let shared = self.shared.clone();
        to_completion(
            self.shared.backend.name(),
            shared.register_many(registrations),
        )
        .await
    }

    /// Stops the heartbeat and leaves every registration of this process to expire by itself,
    /// at most one TTL from now, releasing what only this process kept alive (on Consul, its instance
    /// service). The registrations stay visible to every instance until then; this process
    /// forgets them. For a process that registers and exits without holding (the CLI's
    /// one-shot `register`), so that nothing of it outlives the TTL.
    pub async fn leave_to_expire(&self) -> Result<()> {
        MatchMaker::stop_heartbeat(self);
        let _no_beat = self.shared.beat_gate.write().await;
        // Forgotten first, so nothing (a lease recovery of a concurrent register) re-creates
        // them while the backend lets go; handed back if it fails.
        let snapshot = self.shared.registrations().take();
        if let Err(error) = self.shared.backend.leave_to_expire(&snapshot).await {
            self.shared.registrations().restore(&snapshot);
            return Err(error);
        }
        tracing::info!(
            backend = self.shared.backend.name(),
            registrations = snapshot.len(),
            "matchmaker left its registrations to expire"
        );
        Ok(())
    }

    /// Every registration the registry holds, optionally for one topic.
    pub async fn list(&self, topic: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        if let Some(topic) = topic {
            key::validate_topic(topic)?;
        }
        self.shared.backend.list(topic).await
    }

    /// The membership, optionally of one topic: a snapshot first, then joins and leaves.
    pub fn subscribe(&self, topic: Option<&str>) -> Result<MembershipStream> {
        if let Some(topic) = topic {
            key::validate_topic(topic)?;
        }
        self.shared.backend.subscribe(topic)
    }

    fn heart(&self) -> MutexGuard<'_, Option<JoinHandle<()>>> {
        lock(&self.heart)
    }

    async fn beat_loop(shared: Weak<Shared<B>>, interval: std::time::Duration) {
        loop {
            // Holding only a weak reference lets the matchmaker drop while the task sleeps.
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if let Err(error) = shared.send_heartbeats().await {
                tracing::warn!(backend = shared.backend.name(), %error, "heartbeat failed");
            }
            drop(shared);
            tokio::time::sleep(interval).await;
        }
    }
}

/// `mutex`, whether or not a holder panicked (the values stay consistent between statements).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<B: HeartbeatBackend> Drop for HeartbeatMatchMaker<B> {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

impl<B: HeartbeatBackend> std::fmt::Debug for HeartbeatMatchMaker<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeartbeatMatchMaker")
            .field("backend", &self.shared.backend.name())
            .field("config", &self.shared.config)
            .field("registrations", &self.shared.registrations().len())
            .finish()
    }
}

#[async_trait]
impl<B: HeartbeatBackend> MatchMaker for HeartbeatMatchMaker<B> {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.shared.rules.add(binding, exchange, last);
    }

    async fn queues(&self, key: &str) -> Result<Routes> {
        key::parse_key(key)?;
        self.shared.lookups.increment(1);
        self.shared.rules.queues(key).await
    }

    async fn register(&self, topic: &str, host: &str) -> Result<()> {
        self.register_with(topic, host, Metadata::new()).await
    }

    async fn unregister(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)?;
        let registration = Registration::new(topic, host);
        let shared = self.shared.clone();
        to_completion(self.shared.backend.name(), shared.unregister(registration)).await
    }

    async fn ack_alive(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)?;
        // Our own registration carries its metadata, which a re-created record must keep.
        let pair = Registration::new(topic, host);
        let registration = self.shared.registrations().get(&pair).cloned();
        self.shared
            .backend
            .ack_alive(&registration.unwrap_or(pair))
            .await
    }

    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        key::validate_pair(topic, host)?;
        self.shared.backend.is_alive(topic, host).await
    }

    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        key::validate_pair(topic, host)?;
        self.shared.backend.expire(topic, host).await
    }

    async fn send_heartbeats(&self) -> Result<()> {
        self.shared.send_heartbeats().await
    }

    fn start_heartbeat(&self) -> Result<()> {
        if self.shared.registrations().is_empty() {
            return Err(Error::NothingRegistered);
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime("start_heartbeat"))?;
        let mut heart = self.heart();
        if heart.as_ref().is_some_and(|handle| !handle.is_finished()) {
            return Ok(());
        }
        let task = Self::beat_loop(Arc::downgrade(&self.shared), self.shared.config.interval());
        *heart = Some(runtime.spawn(task));
        Ok(())
    }

    fn stop_heartbeat(&self) {
        if let Some(handle) = self.heart().take() {
            handle.abort();
        }
    }

    async fn drain(&self, timeout: std::time::Duration) -> Result<()> {
        MatchMaker::stop_heartbeat(self);
        // Waits for an in-flight beat, whose snapshot could re-create what is being removed.
        let _no_beat = self.shared.beat_gate.write().await;
        // Forgotten first, so nothing re-creates them while they are removed; what was not
        // removed is handed back below.
        let snapshot = self.shared.registrations().take();
        let backend = &self.shared.backend;
        let late = || {
            let message = format!(
                "drain of {} registrations did not finish within {timeout:?}",
                snapshot.len()
            );
            Error::unavailable(backend.name(), message)
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let failure = match tokio::time::timeout_at(deadline, backend.drain(&snapshot)).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error),
            Err(_) => Some(late()),
        };
        if let Some(error) = failure {
            self.shared.registrations().restore(&snapshot);
            return Err(error);
        }
        // Records whose removal failed earlier go too (usually already gone with the lease or
        // instance service: one cheap request each).
        tokio::time::timeout_at(deadline, self.shared.finish_removals())
            .await
            .map_err(|_| late())??;
        tracing::info!(
            backend = backend.name(),
            registrations = snapshot.len(),
            "matchmaker drained"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::{HeartbeatConfig, LiveTopic};

    /// Records hook calls; every write reaches the registry, then reports a failure.
    #[derive(Default)]
    struct FailingWrite {
        calls: Mutex<Vec<&'static str>>,
    }

    impl FailingWrite {
        fn record(&self, call: &'static str) {
            self.calls.lock().unwrap().push(call);
        }
    }

    #[async_trait]
    impl HostDirectory for FailingWrite {
        fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
            Some(Ok(Arc::new(LiveTopic::new::<&str>(topic, []))))
        }
        async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
            self.live_topic_now(topic).expect("never waits")
        }
    }

    #[async_trait]
    impl HeartbeatBackend for FailingWrite {
        fn name(&self) -> &'static str {
            "failing-write"
        }
        async fn backend_register_many(&self, _: &[Registration]) -> Result<()> {
            self.record("register");
            Err(Error::unavailable(
                "failing-write",
                "timed out after the write",
            ))
        }
        async fn backend_unregister(&self, _: &Registration) -> Result<()> {
            self.record("unregister");
            Ok(())
        }
        async fn ack_alive(&self, _: &Registration) -> Result<()> {
            Ok(())
        }
        async fn is_alive(&self, _: &str, _: &str) -> Result<bool> {
            Ok(false)
        }
        async fn expire(&self, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        async fn leave_to_expire(&self, _: &[Registration]) -> Result<()> {
            Ok(())
        }
        async fn drain(&self, _: &[Registration]) -> Result<()> {
            Ok(())
        }
        async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
            crate::heartbeat::ack_each(self, registrations).await
        }
        async fn list(&self, _: Option<&str>) -> Result<Vec<crate::RegistrationInfo>> {
            Err(crate::Error::Unsupported {
                backend: self.name(),
                operation: "list",
            })
        }
        fn subscribe(&self, _: Option<&str>) -> Result<crate::MembershipStream> {
            Err(crate::Error::Unsupported {
                backend: self.name(),
                operation: "subscribe",
            })
        }
    }

    #[tokio::test]
    async fn register_whose_write_fails_rolls_back_the_backend_record() {
        let matchmaker =
            HeartbeatMatchMaker::new(FailingWrite::default(), HeartbeatConfig::default()).unwrap();
        let error = matchmaker.register("t", "h").await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(matchmaker.registrations().is_empty());
        assert_eq!(
            *matchmaker.backend().calls.lock().unwrap(),
            ["register", "unregister"]
        );
    }
}
