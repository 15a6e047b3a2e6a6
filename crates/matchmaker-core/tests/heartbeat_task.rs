//! The heartbeat task of `HeartbeatMatchMaker`, where it differs from the original
//! `HeartbeatMatchMakerBase` (whose beat was a greenthread looping `send_heartbeats`): failures
//! neither stop a beat half-way nor end the task, and a second `start_heartbeat` does not start
//! a second task. Runs on paused tokio time.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
    Registration, Result,
};

/// TTL 3 s, so the heartbeat interval is 1 s.
const TTL: Duration = Duration::from_secs(3);
const INTERVAL: Duration = Duration::from_secs(1);

/// Records every acknowledgement; acknowledgements of `failing_hosts` fail, and so do the next
/// `fail_next` acknowledgements of anything.
#[derive(Default)]
struct Recorder {
    acks: Mutex<Vec<Registration>>,
    failing_hosts: Mutex<BTreeSet<String>>,
    fail_next: AtomicUsize,
}

impl Recorder {
    fn acks_of(&self, host: &str) -> usize {
        let acks = self.acks.lock().unwrap();
        acks.iter().filter(|ack| ack.host == host).count()
    }

    fn fail_host(&self, host: &str) {
        self.failing_hosts.lock().unwrap().insert(host.to_owned());
    }
}

impl Recorder {
    async fn hosts_of(&self, _topic: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl HostDirectory for Recorder {
    fn live_topic_now(&self, _topic: &str) -> Option<Result<Arc<LiveTopic>>> {
        None // every lookup takes the waiting path, as a remote directory would
    }
    async fn live_topic(&self, topic: &str) -> Result<Arc<LiveTopic>> {
        Ok(Arc::new(LiveTopic::sorted(
            topic,
            self.hosts_of(topic).await?,
        )))
    }
}

#[async_trait]
impl HeartbeatBackend for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    async fn backend_register_many(&self, _: &[Registration]) -> Result<()> {
        Ok(())
    }

    async fn backend_unregister(&self, _: &Registration) -> Result<()> {
        Ok(())
    }
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        self.acks.lock().unwrap().push(registration.clone());
        let fail_now = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let refused = self
            .failing_hosts
            .lock()
            .unwrap()
            .contains(&registration.host);
        if fail_now || refused {
            return Err(Error::unavailable("recorder", "ack refused"));
        }
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
        matchmaker_core::heartbeat::ack_each(self, registrations).await
    }
    async fn list(&self, _: Option<&str>) -> Result<Vec<matchmaker_core::RegistrationInfo>> {
        Err(matchmaker_core::Error::Unsupported {
            backend: self.name(),
            operation: "list",
        })
    }
    fn subscribe(&self, _: Option<&str>) -> Result<matchmaker_core::MembershipStream> {
        Err(matchmaker_core::Error::Unsupported {
            backend: self.name(),
            operation: "subscribe",
        })
    }
}

fn matchmaker() -> HeartbeatMatchMaker<Recorder> {
    HeartbeatMatchMaker::new(Recorder::default(), HeartbeatConfig::with_ttl(TTL)).unwrap()
}

/// The original's `send_heartbeats` raised out of its loop at the first failing `ack_alive`,
/// so the pairs after it went unrefreshed in that beat.
#[tokio::test(start_paused = true)]
async fn a_failing_ack_does_not_stop_the_beat_for_the_other_registrations() {
    let matchmaker = matchmaker();
    // Registrations are beaten in sorted order: `a-bad` comes before `b-good`.
    matchmaker.register("t", "a-bad").await.unwrap();
    matchmaker.register("t", "b-good").await.unwrap();
    matchmaker.backend().fail_host("a-bad");
    let before = matchmaker.backend().acks_of("b-good");
    let error = matchmaker.send_heartbeats().await.unwrap_err();
    assert!(error.is_transient(), "{error}");
    assert_eq!(matchmaker.backend().acks_of("b-good"), before + 1);
}

/// The original's greenthread ended at the first exception a beat raised and never beat again.
#[tokio::test(start_paused = true)]
async fn heartbeat_task_keeps_beating_after_a_failed_beat() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "h1").await.unwrap();
    let registered = matchmaker.backend().acks_of("h1");
    // The first two beats fail (t = 0 s and 1 s), the ones at 2 s and 3 s succeed.
    matchmaker.backend().fail_next.store(2, Ordering::SeqCst);
    matchmaker.start_heartbeat().unwrap();
    tokio::time::sleep(INTERVAL * 3 + INTERVAL / 2).await;
    assert!(matchmaker.is_heartbeating());
    assert_eq!(matchmaker.backend().acks_of("h1") - registered, 4);
    assert_eq!(matchmaker.backend().fail_next.load(Ordering::SeqCst), 0);
    matchmaker.stop_heartbeat();
}

/// The original spawned a second greenthread on a second `start_heartbeat`; `stop_heartbeat`
/// killed only the last one and the first went on beating.
#[tokio::test(start_paused = true)]
async fn start_heartbeat_twice_runs_one_task_that_one_stop_ends() {
    let matchmaker = matchmaker();
    matchmaker.register("t", "h1").await.unwrap();
    let registered = matchmaker.backend().acks_of("h1");
    matchmaker.start_heartbeat().unwrap();
    matchmaker.start_heartbeat().unwrap();
    // One task beats at 0 s, 1 s and 2 s: three acknowledgements, not six.
    tokio::time::sleep(INTERVAL * 2 + INTERVAL / 2).await;
    assert_eq!(matchmaker.backend().acks_of("h1") - registered, 3);
    matchmaker.stop_heartbeat();
    assert!(!matchmaker.is_heartbeating());
    tokio::time::sleep(INTERVAL * 5).await;
    assert_eq!(matchmaker.backend().acks_of("h1") - registered, 3);
}
