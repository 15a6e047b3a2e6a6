//! Cancel safety of `HeartbeatMatchMaker`'s registry-changing calls: a `register`,
//! `register_many` or `unregister` future dropped at any of its await points leaves the
//! process's set of registrations and the registry agreeing (both have the pair, or neither),
//! once the runtime has run what was started. Runs on paused tokio time.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use matchmaker_core::heartbeat::{Beat, LiveTopic};
use matchmaker_core::{
    Error, HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, MatchMaker,
    Registration, Result,
};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Await points each backend call has: enough to drop a call inside every one of them.
const YIELDS_PER_CALL: usize = 3;

/// A registry that yields [`YIELDS_PER_CALL`] times inside every call, so a caller's future
/// can be dropped between any two of its steps; while `failing` is set, writes reach the
/// registry and then report a failure (a request that timed out after etcd applied it).
#[derive(Default)]
struct Stepwise {
    records: Mutex<BTreeSet<(String, String)>>,
    failing: AtomicBool,
}

impl Stepwise {
    fn has(&self, topic: &str, host: &str) -> bool {
        self.records
            .lock()
            .unwrap()
            .contains(&(topic.to_owned(), host.to_owned()))
    }

    async fn steps() {
        for _ in 0..YIELDS_PER_CALL {
            tokio::task::yield_now().await;
        }
    }
}

fn pair(registration: &Registration) -> (String, String) {
    (registration.topic.clone(), registration.host.clone())
}

impl Stepwise {
    async fn hosts_of(&self, topic: &str) -> Result<Vec<String>> {
        let records = self.records.lock().unwrap();
        Ok(records
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, host)| host.clone())
            .collect())
    }
}

#[async_trait]
impl HostDirectory for Stepwise {
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
impl HeartbeatBackend for Stepwise {
    fn name(&self) -> &'static str {
        "stepwise"
    }
    async fn backend_register_many(&self, registrations: &[Registration]) -> Result<()> {
        Self::steps().await;
        self.records
            .lock()
            .unwrap()
            .extend(registrations.iter().map(pair));
        Self::steps().await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::unavailable("stepwise", "timed out after the write"));
        }
        Ok(())
    }
    async fn backend_unregister(&self, registration: &Registration) -> Result<()> {
        Self::steps().await;
        self.records.lock().unwrap().remove(&pair(registration));
        Self::steps().await;
        Ok(())
    }
    async fn ack_alive(&self, registration: &Registration) -> Result<()> {
        Self::steps().await;
        self.records.lock().unwrap().insert(pair(registration));
        Ok(())
    }
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        Ok(self.has(topic, host))
    }
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.records
            .lock()
            .unwrap()
            .remove(&(topic.to_owned(), host.to_owned()));
        Ok(())
    }
    async fn heartbeat(&self, registrations: &[Registration]) -> Result<Beat> {
        matchmaker_core::heartbeat::ack_each(self, registrations).await
    }
    async fn leave_to_expire(&self, _: &[Registration]) -> Result<()> {
        Ok(())
    }
    async fn drain(&self, _: &[Registration]) -> Result<()> {
        Ok(())
    }
    async fn list(&self, _: Option<&str>) -> Result<Vec<matchmaker_core::RegistrationInfo>> {
        Ok(Vec::new())
    }
    fn subscribe(&self, _: Option<&str>) -> Result<matchmaker_core::MembershipStream> {
        Err(Error::Unsupported {
            backend: "stepwise",
            operation: "subscribe",
        })
    }
}

fn matchmaker() -> (Arc<Stepwise>, HeartbeatMatchMaker<Stepwise>) {
    let backend = Arc::new(Stepwise::default());
    let config = HeartbeatConfig::with_ttl(Duration::from_secs(10));
    let matchmaker = HeartbeatMatchMaker::with_shared_backend(backend.clone(), config).unwrap();
    (backend, matchmaker)
}

/// Lets everything the dropped call started run to its end.
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The process's set and the registry agree about `(t, h)`; `Some(true)` if both have it.
fn agreement(backend: &Stepwise, matchmaker: &HeartbeatMatchMaker<Stepwise>) -> Option<bool> {
    let listed = matchmaker.registrations().iter().any(|registration| {
        (registration.topic.as_str(), registration.host.as_str()) == ("t", "h")
    });
    (listed == backend.has("t", "h")).then_some(listed)
}

/// Runs the call made by `call` in a task and aborts it (dropping its future) after the
/// runtime has had 0, 1, 2, ... turns, until a run finishes before its abort; checks `expect`
/// after each. Returns how many drop points were tried.
async fn at_every_await_point(
    setup: impl AsyncFn(&HeartbeatMatchMaker<Stepwise>, &Stepwise),
    call: impl Fn(Arc<HeartbeatMatchMaker<Stepwise>>) -> BoxFuture<'static, Result<()>>,
    expect: impl Fn(Option<bool>, usize) -> std::result::Result<(), String>,
) -> usize {
    for turns in 0..1000 {
        let (backend, matchmaker) = matchmaker();
        setup(&matchmaker, &backend).await;
        let matchmaker = Arc::new(matchmaker);
        let task = tokio::spawn(call(matchmaker.clone()));
        for _ in 0..turns {
            tokio::task::yield_now().await;
        }
        let finished = task.is_finished();
        task.abort();
        settle().await;
        if let Err(why) = expect(agreement(&backend, &matchmaker), turns) {
            panic!("dropped after {turns} turns: {why}");
        }
        if finished {
            return turns;
        }
    }
    panic!("the call never finished")
}

#[tokio::test(start_paused = true)]
async fn a_register_dropped_at_any_await_point_is_completed_not_left_half_done() {
    let points = at_every_await_point(
        async |_, _| {},
        |matchmaker| Box::pin(async move { matchmaker.register("t", "h").await }),
        |agreement, turns| match (agreement, turns) {
            // Never polled: nothing was started.
            (Some(false), 0) => Ok(()),
            (Some(true), 1..) => Ok(()),
            (other, _) => Err(format!("expected both to have (t, h), got {other:?}")),
        },
    )
    .await;
    assert!(points >= 1, "the register never awaited: {points}");
}

#[tokio::test(start_paused = true)]
async fn a_failing_register_dropped_at_any_await_point_leaves_nothing() {
    at_every_await_point(
        async |_, backend| backend.failing.store(true, Ordering::SeqCst),
        |matchmaker| Box::pin(async move { matchmaker.register("t", "h").await }),
        |agreement, _| match agreement {
            Some(false) => Ok(()),
            other => Err(format!("expected neither to have (t, h), got {other:?}")),
        },
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_register_many_dropped_at_any_await_point_is_completed() {
    at_every_await_point(
        async |_, _| {},
        |matchmaker| {
            Box::pin(async move { matchmaker.register_many(&[("t", "h"), ("u", "h")]).await })
        },
        |agreement, turns| match (agreement, turns) {
            (Some(false), 0) | (Some(true), 1..) => Ok(()),
            (other, _) => Err(format!("expected both to have (t, h), got {other:?}")),
        },
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn an_unregister_dropped_at_any_await_point_removes_the_record_too() {
    at_every_await_point(
        async |matchmaker, _| matchmaker.register("t", "h").await.unwrap(),
        |matchmaker| Box::pin(async move { matchmaker.unregister("t", "h").await }),
        |agreement, turns| match (agreement, turns) {
            (Some(true), 0) | (Some(false), 1..) => Ok(()),
            (other, _) => Err(format!("expected neither to have (t, h), got {other:?}")),
        },
    )
    .await;
}
