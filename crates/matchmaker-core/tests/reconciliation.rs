//! The matchmaker owns what must exist (its registrations, which the backend reads) and what
//! must not (removals that failed), and reconciles the registry with both on every beat.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use matchmaker_core::heartbeat::LiveTopic;
use matchmaker_core::{
    Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
    MembershipStream, Registration, RegistrationInfo, Registrations, Result,
};

/// A registry of records; removals and drains fail while `down` is set.
#[derive(Default)]
struct Flaky {
    records: Mutex<BTreeSet<(String, String)>>,
    down: AtomicBool,
    attached: OnceLock<Registrations>,
}

impl Flaky {
    fn holds(&self, topic: &str, host: &str) -> bool {
        let records = self.records.lock().unwrap();
        records.contains(&(topic.to_owned(), host.to_owned()))
    }

    fn refuse_while_down(&self) -> Result<()> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(Error::unavailable("flaky", "down")),
            false => Ok(()),
        }
    }
}

fn pair(registration: &Registration) -> (String, String) {
    (registration.topic.clone(), registration.host.clone())
}

#[async_trait]
impl HostDirectory for Flaky {
    fn live_topic_now(&self, topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        let records = self.records.lock().unwrap();
        let hosts = records
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, h)| h.as_str());
        Some(Ok(Arc::new(LiveTopic::new(topic, hosts))))
    }
    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        self.live_topic_now(topic).expect("never waits")
    }
}

#[async_trait]
impl HeartbeatBackend for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn attach(&self, registrations: Registrations) {
        let _ = self.attached.set(registrations);
    }
    async fn backend_register(&self, registration: &Registration) -> Result<()> {
        self.records.lock().unwrap().insert(pair(registration));
        Ok(())
    }
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        self.records
            .lock()
            .unwrap()
            .extend(registrations.iter().map(pair));
        Ok(())
    }
    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        self.refuse_while_down()?;
        self.records.lock().unwrap().remove(&pair(registration));
        Ok(())
    }
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        self.backend_register(registration).await
    }
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        Ok(self.holds(topic, host))
    }
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        let key = (topic.to_owned(), host.to_owned());
        self.records.lock().unwrap().remove(&key);
        Ok(())
    }
    async fn leave_to_expire(&self, _: &[Registration]) -> Result<()> {
        Ok(())
    }
    async fn drain(&self, registrations: &[Registration]) -> Result<()> {
        self.refuse_while_down()?;
        let mut records = self.records.lock().unwrap();
        for registration in registrations {
            records.remove(&pair(registration));
        }
        Ok(())
    }
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<()> {
        self.backend_register_many(registrations).await
    }
    async fn list(&self, _: Option<&str>) -> Result<Vec<RegistrationInfo>> {
        Err(Error::Unsupported {
            backend: "flaky",
            operation: "list",
        })
    }
    fn subscribe(&self, _: Option<&str>) -> Result<MembershipStream> {
        Err(Error::Unsupported {
            backend: "flaky",
            operation: "subscribe",
        })
    }
}

fn matchmaker() -> HeartbeatMatchMaker<Flaky> {
    HeartbeatMatchMaker::new(Flaky::default(), HeartbeatConfig::default()).unwrap()
}

#[tokio::test]
async fn the_backend_reads_the_matchmakers_one_set_of_registrations() {
    let matchmaker = matchmaker();
    let attached = matchmaker
        .backend()
        .attached
        .get()
        .expect("attached")
        .clone();
    matchmaker.register("t", "a").await.unwrap();
    matchmaker.register("t", "b").await.unwrap();
    assert_eq!(
        &*attached.snapshot(),
        &[Registration::new("t", "a"), Registration::new("t", "b")]
    );
    matchmaker.unregister("t", "a").await.unwrap();
    assert_eq!(&*attached.snapshot(), &[Registration::new("t", "b")]);
}

#[tokio::test]
async fn an_unregister_that_failed_is_completed_by_a_later_heartbeat() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "a").await.unwrap();
    matchmaker.register("t", "b").await.unwrap();
    let backend = matchmaker.backend();
    backend.down.store(true, Ordering::SeqCst);
    assert!(matchmaker.unregister("t", "a").await.is_err());
    // The beat refreshes what must exist, and fails while the removal still fails.
    assert!(matchmaker.send_heartbeats().await.is_err());
    assert!(backend.holds("t", "a"), "nothing could remove it yet");
    backend.down.store(false, Ordering::SeqCst);
    matchmaker.send_heartbeats().await.unwrap();
    assert!(!backend.holds("t", "a"), "the beat completed the removal");
    assert!(backend.holds("t", "b"));
    assert!(!matchmaker.is_alive("t", "a").await.unwrap());
}

#[tokio::test]
async fn a_pair_registered_again_after_a_failed_unregister_stays() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "a").await.unwrap();
    let backend = matchmaker.backend();
    backend.down.store(true, Ordering::SeqCst);
    assert!(matchmaker.unregister("t", "a").await.is_err());
    backend.down.store(false, Ordering::SeqCst);
    matchmaker.register("t", "a").await.unwrap();
    matchmaker.send_heartbeats().await.unwrap();
    assert!(backend.holds("t", "a"));
    assert_eq!(matchmaker.registrations(), [Registration::new("t", "a")]);
}

#[tokio::test]
async fn a_failed_drain_hands_the_registrations_back_for_a_second_drain() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "a").await.unwrap();
    let backend = matchmaker.backend();
    backend.down.store(true, Ordering::SeqCst);
    let timeout = std::time::Duration::from_secs(5);
    assert!(matchmaker.drain(timeout).await.is_err());
    assert_eq!(matchmaker.registrations(), [Registration::new("t", "a")]);
    backend.down.store(false, Ordering::SeqCst);
    matchmaker.drain(timeout).await.unwrap();
    assert!(matchmaker.registrations().is_empty());
    assert!(!backend.holds("t", "a"));
}
