//! Small assertion helpers: every failure says what was expected and what happened.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use libtest_mimic::Failed;
use matchmaker_core::{Error, MatchMaker, Route};

/// The outcome of a trial body.
pub(crate) type Outcome = Result<(), Failed>;

/// How often conditions that take time (expiry, propagation) are polled.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(100);
/// How long past its TTL an unrefreshed registration may still be seen on a real server.
pub(crate) const EXPIRY_SLACK: Duration = Duration::from_secs(2);
/// How long one instance's change may take to show in another instance's lookups.
pub(crate) const PROPAGATION_LIMIT: Duration = Duration::from_secs(5);

/// Fails the trial with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(libtest_mimic::Failed::from(format!($($message)+)));
        }
    };
}
pub(crate) use ensure;

/// Turns a backend error into a trial failure naming the call that failed.
pub(crate) trait Step<T> {
    /// `Ok` as is; an error becomes `"<call> failed: <error>"`.
    fn step(self, call: impl std::fmt::Display) -> Result<T, Failed>;
}

impl<T> Step<T> for matchmaker_core::Result<T> {
    fn step(self, call: impl std::fmt::Display) -> Result<T, Failed> {
        self.map_err(|error| Failed::from(format!("{call} failed: {error:?}")))
    }
}

/// Fails unless `actual == expected`, showing both.
pub(crate) fn expect_eq<T: PartialEq + Debug>(what: &str, actual: T, expected: T) -> Outcome {
    ensure!(
        actual == expected,
        "{what}:\n  expected {expected:?}\n  got      {actual:?}"
    );
    Ok(())
}

/// Fails unless `result` is `Err(Error::InvalidKey { .. })`.
pub(crate) fn expect_invalid_key<T: Debug>(
    call: &str,
    result: matchmaker_core::Result<T>,
) -> Outcome {
    match result {
        Err(Error::InvalidKey { .. }) => Ok(()),
        Err(other) => Err(format!("{call}: expected Error::InvalidKey, got Err({other:?})").into()),
        Ok(value) => Err(format!("{call}: expected Error::InvalidKey, got Ok({value:?})").into()),
    }
}

/// `queues(key)`, failing the trial on an error.
pub(crate) async fn lookup(matchmaker: &dyn MatchMaker, key: &str) -> Result<Vec<Route>, Failed> {
    matchmaker
        .queues(key)
        .await
        .map(Vec::from)
        .step(format_args!("queues({key:?})"))
}

/// `is_alive(topic, host)`, failing the trial on an error.
pub(crate) async fn alive(
    matchmaker: &dyn MatchMaker,
    topic: &str,
    host: &str,
) -> Result<bool, Failed> {
    matchmaker
        .is_alive(topic, host)
        .await
        .step(format_args!("is_alive({topic:?}, {host:?})"))
}

/// `register(topic, host)`, failing the trial on an error.
pub(crate) async fn register(matchmaker: &dyn MatchMaker, topic: &str, host: &str) -> Outcome {
    matchmaker
        .register(topic, host)
        .await
        .step(format_args!("register({topic:?}, {host:?})"))
}

/// `unregister(topic, host)`, failing the trial on an error.
pub(crate) async fn unregister(matchmaker: &dyn MatchMaker, topic: &str, host: &str) -> Outcome {
    matchmaker
        .unregister(topic, host)
        .await
        .step(format_args!("unregister({topic:?}, {host:?})"))
}

/// `expire(topic, host)`, failing the trial on an error.
pub(crate) async fn expire(matchmaker: &dyn MatchMaker, topic: &str, host: &str) -> Outcome {
    matchmaker
        .expire(topic, host)
        .await
        .step(format_args!("expire({topic:?}, {host:?})"))
}

/// Fails unless `queues(key)` returns exactly `expected`.
pub(crate) async fn expect_routes(
    matchmaker: &dyn MatchMaker,
    key: &str,
    expected: Vec<Route>,
) -> Outcome {
    expect_eq(
        &format!("queues({key:?})"),
        lookup(matchmaker, key).await?,
        expected,
    )
}

/// Fails unless `is_alive(topic, host)` is `expected`.
pub(crate) async fn expect_alive(
    matchmaker: &dyn MatchMaker,
    topic: &str,
    host: &str,
    expected: bool,
) -> Outcome {
    expect_eq(
        &format!("is_alive({topic:?}, {host:?})"),
        alive(matchmaker, topic, host).await?,
        expected,
    )
}

/// The routes a fanout lookup of `topic` must give for `hosts` (sorted, the stable order).
pub(crate) fn fanout_routes(topic: &str, hosts: &[&str]) -> Vec<Route> {
    let mut hosts = hosts.to_vec();
    hosts.sort_unstable();
    hosts
        .into_iter()
        .map(|host| Route::new(format!("fanout~{topic}.{host}"), host))
        .collect()
}

/// Polls `probe` every [`POLL_EVERY`] until it returns true; fails once `limit` has passed.
/// Uses tokio time, so it is instant on a paused clock.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut probe: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, Failed>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if probe().await? {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{what}: still not true after {limit:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `probe` every [`POLL_EVERY`] for `duration` and fails the first time it is false.
pub(crate) async fn throughout<F, Fut>(what: &str, duration: Duration, mut probe: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, Failed>>,
{
    let start = tokio::time::Instant::now();
    loop {
        ensure!(
            probe().await?,
            "{what}: stopped being true after {:?} (should hold for {duration:?})",
            start.elapsed()
        );
        if start.elapsed() >= duration {
            return Ok(());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}
