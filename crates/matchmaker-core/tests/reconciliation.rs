//! The matchmaker owns what must exist (its registrations) and what must not (removals that
//! failed), and reconciles the registry with both on every beat: the backend reports what it
//! lost and the matchmaker restores exactly that, in one bulk write.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
    MembershipStream, Registration, RegistrationInfo, Result,
};

/// A registry of records that reports, on each beat, the registrations it does not hold;
/// writes, removals and drains fail while `down` is set, and `forgot_everything` makes the
/// next beat report every registration lost (a lost lease).
#[derive(Default)]
struct Flaky {
    records: Mutex<BTreeSet<(String, String)>>,
    down: AtomicBool,
    forgot_everything: AtomicBool,
    /// When set, a beat reports nothing lost (what it does not see).
    reports_nothing: AtomicBool,
    /// Every bulk write, as it was handed over.
    writes: Mutex<Vec<Vec<(String, String)>>>,
}

impl Flaky {
    fn holds(&self, topic: &str, host: &str) -> bool {
        let records = self.records.lock().unwrap();
        records.contains(&(topic.to_owned(), host.to_owned()))
    }

    fn lose(&self, topic: &str, host: &str) {
        let key = (topic.to_owned(), host.to_owned());
        self.records.lock().unwrap().remove(&key);
    }

    fn writes(&self) -> Vec<Vec<(String, String)>> {
        self.writes.lock().unwrap().clone()
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

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(topic, host)| ((*topic).to_owned(), (*host).to_owned()))
        .collect()
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
    /// Refuses a batch that names one pair twice, as etcd refuses a transaction that writes
    /// one key twice; fails while `down`.
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        tokio::task::yield_now().await;
        self.refuse_while_down()?;
        let batch: Vec<(String, String)> = registrations.iter().map(pair).collect();
        let distinct: BTreeSet<&(String, String)> = batch.iter().collect();
        if distinct.len() != batch.len() {
            return Err(Error::backend(
                "flaky",
                "duplicate key given in txn request",
            ));
        }
        self.records.lock().unwrap().extend(batch.iter().cloned());
        self.writes.lock().unwrap().push(batch);
        Ok(())
    }
    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        self.refuse_while_down()?;
        self.records.lock().unwrap().remove(&pair(registration));
        Ok(())
    }
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        self.records.lock().unwrap().insert(pair(registration));
        Ok(())
    }
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        Ok(self.holds(topic, host))
    }
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.lose(topic, host);
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
    /// Refreshes nothing (records here do not expire) and reports what it does not hold.
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        if self.forgot_everything.swap(false, Ordering::SeqCst) {
            self.records.lock().unwrap().clear();
            return Ok(Beat::LostAll);
        }
        if self.reports_nothing.load(Ordering::SeqCst) {
            return Ok(Beat::Alive);
        }
        let records = self.records.lock().unwrap();
        let lost: Vec<Registration> = registrations
            .iter()
            .filter(|registration| !records.contains(&pair(registration)))
            .cloned()
            .collect();
        Ok(match lost.is_empty() {
            true => Beat::Alive,
            false => Beat::Lost(lost),
        })
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
async fn a_beat_restores_exactly_what_the_backend_reports_lost_in_one_bulk_write() {
    let matchmaker = matchmaker();
    let listed = [("t", "a"), ("t", "b"), ("u", "c"), ("u", "d")];
    matchmaker.register_many(&listed).await.unwrap();
    let backend = matchmaker.backend();
    backend.lose("t", "b");
    backend.lose("u", "d");
    matchmaker.send_heartbeats().await.unwrap();
    let writes = backend.writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(writes[1], pairs(&[("t", "b"), ("u", "d")]));
    assert!(listed
        .iter()
        .all(|(topic, host)| backend.holds(topic, host)));
    // Nothing lost: the next beat writes nothing.
    matchmaker.send_heartbeats().await.unwrap();
    assert_eq!(backend.writes().len(), 2);
}

#[tokio::test]
async fn a_beat_that_finds_everything_lost_restores_every_registration_at_once() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "a").await.unwrap();
    matchmaker.register("u", "b").await.unwrap();
    let backend = matchmaker.backend();
    backend.forgot_everything.store(true, Ordering::SeqCst);
    matchmaker.send_heartbeats().await.unwrap();
    let writes = backend.writes();
    assert_eq!(writes.last(), Some(&pairs(&[("t", "a"), ("u", "b")])));
    assert!(backend.holds("t", "a") && backend.holds("u", "b"));
}

#[tokio::test]
async fn a_restore_that_failed_is_retried_by_the_next_beat() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "a").await.unwrap();
    let backend = matchmaker.backend();
    backend.forgot_everything.store(true, Ordering::SeqCst);
    backend.down.store(true, Ordering::SeqCst);
    assert!(matchmaker.send_heartbeats().await.is_err());
    assert!(!backend.holds("t", "a"));
    // The registry answers again; its next beat reports nothing lost (as a Consul agent whose
    // instance check was re-created reports), but the matchmaker still owes the restore.
    backend.down.store(false, Ordering::SeqCst);
    backend.reports_nothing.store(true, Ordering::SeqCst);
    matchmaker.send_heartbeats().await.unwrap();
    assert!(backend.holds("t", "a"));
}

#[tokio::test]
async fn concurrent_registers_share_bulk_writes() {
    let matchmaker = matchmaker();
    let hosts: Vec<String> = (0..100).map(|n| format!("h{n:03}")).collect();
    let registers = hosts.iter().map(|host| matchmaker.register("t", host));
    let outcomes = futures_util::future::join_all(registers).await;
    assert!(outcomes.iter().all(Result::is_ok));
    let writes = matchmaker.backend().writes();
    assert!(
        writes.len() <= 3,
        "100 registers took {} writes",
        writes.len()
    );
    let written: Vec<(String, String)> = writes.concat();
    assert_eq!(written.len(), 100);
    assert!(hosts
        .iter()
        .all(|host| matchmaker.backend().holds("t", host)));
}

#[tokio::test]
async fn register_many_writes_a_pair_given_twice_once() {
    let matchmaker = matchmaker();
    let twice = [("t", "a"), ("t", "b"), ("t", "a")];
    matchmaker.register_many(&twice).await.unwrap();
    assert_eq!(
        matchmaker.backend().writes(),
        [pairs(&[("t", "a"), ("t", "b")])]
    );
    assert_eq!(matchmaker.registrations().len(), 2);
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
