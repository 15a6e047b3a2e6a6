//! How one trial runs: its own tokio runtime, namespace, time limits and cleanup.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use libtest_mimic::{Completion, Failed, Trial};
use matchmaker_core::MatchMaker;

use crate::{Capabilities, Factory};

/// Longest a trial may take on a real clock before it is failed as hanging.
pub const TRIAL_TIME_LIMIT: Duration = Duration::from_secs(60);
/// Longest a trial may take on a paused clock (virtual time, which jumps ahead when idle).
const PAUSED_TIME_LIMIT: Duration = Duration::from_secs(3600);
/// Real-time guard around the whole trial thread, for trials that block their runtime.
const WATCHDOG_LIMIT: Duration = Duration::from_secs(90);
/// Longest the best-effort cleanup of a namespace may take.
const CLEANUP_LIMIT: Duration = Duration::from_secs(10);

/// What a trial body gets: its own namespace and the factory to create matchmakers in it.
#[derive(Clone)]
pub struct Context {
    namespace: String,
    capabilities: Capabilities,
    factory: Arc<dyn Factory>,
}

impl Context {
    /// The namespace of this trial, unique per trial and run.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The capabilities the suite was started with.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// A fresh matchmaker in this trial's namespace.
    pub async fn matchmaker(&self) -> Result<Box<dyn MatchMaker>, Failed> {
        self.factory.create(&self.namespace).await.map_err(|error| {
            Failed::from(format!(
                "factory.create({:?}) failed: {error}",
                self.namespace
            ))
        })
    }

    /// A fresh registry (listing, metadata) in this trial's namespace; a failure when the
    /// factory does not implement [`Factory::create_registry`].
    pub async fn registry(&self) -> Result<Box<dyn matchmaker_core::Registry>, Failed> {
        match self.factory.create_registry(&self.namespace).await {
            Some(Ok(registry)) => Ok(registry),
            Some(Err(error)) => Err(Failed::from(format!(
                "factory.create_registry({:?}) failed: {error}",
                self.namespace
            ))),
            None => Err(Failed::from(
                "this registry backend's Factory does not implement create_registry, which the \
                 registry trials need",
            )),
        }
    }

    /// A fresh matchmaker in this trial's namespace, shareable between tasks.
    pub async fn shared_matchmaker(&self) -> Result<Arc<dyn MatchMaker>, Failed> {
        self.matchmaker().await.map(Arc::from)
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("namespace", &self.namespace)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

/// A trial that runs `body` against the backend, with the suite's runtime, namespace, time
/// limits and cleanup. `name` is `<area>::<behaviour>`.
///
/// Backend crates use it to add their own trials to the run (see [`crate::run_with`]).
pub fn trial<F, Fut>(
    backend: &str,
    name: &str,
    factory: Arc<dyn Factory>,
    capabilities: Capabilities,
    body: F,
) -> Trial
where
    F: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Failed>> + Send + 'static,
{
    let namespace_stem = namespace_stem(backend, name);
    let paused = capabilities.paused_time;
    Trial::test(name, move || {
        let context = Context {
            namespace: format!("{namespace_stem}-{:016x}", fastrand::u64(..)),
            capabilities,
            factory,
        };
        guarded(move || run_with_cleanup(paused, context, body))
    })
}

/// A trial that exercises core types only: no backend, no namespace, a small real-time runtime.
pub(crate) fn local_trial<F, Fut>(name: &str, body: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Failed>> + Send + 'static,
{
    Trial::test(name, move || {
        guarded(move || {
            let runtime = build_runtime(false)?;
            runtime.block_on(async {
                tokio::time::timeout(TRIAL_TIME_LIMIT, body())
                    .await
                    .unwrap_or_else(|_| Err(hang(TRIAL_TIME_LIMIT)))
            })
        })
    })
}

/// A trial reported as ignored with `reason`, even under `--include-ignored`.
pub(crate) fn ignored_trial(name: &str, reason: impl Into<String>) -> Trial {
    let reason = reason.into();
    Trial::ignorable_test(name, {
        let reason = reason.clone();
        move || Ok(Completion::ignored_with(reason))
    })
    .with_kind(reason)
    .with_ignored_flag(true)
}

fn run_with_cleanup<F, Fut>(paused: bool, context: Context, body: F) -> Result<(), Failed>
where
    F: FnOnce(Context) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Failed>> + Send + 'static,
{
    let runtime = build_runtime(paused)?;
    let limit = if paused {
        PAUSED_TIME_LIMIT
    } else {
        TRIAL_TIME_LIMIT
    };
    let outcome = runtime.block_on(async {
        let factory = context.factory.clone();
        let namespace = context.namespace.clone();
        // Spawned, so a panicking body still lets the cleanup below run.
        let mut task = tokio::spawn(body(context));
        let outcome = match tokio::time::timeout(limit, &mut task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join_error)) if join_error.is_panic() => Err(panicked(join_error.into_panic())),
            Ok(Err(join_error)) => Err(Failed::from(format!("trial task ended: {join_error}"))),
            Err(_) => {
                task.abort();
                Err(hang(limit))
            }
        };
        if tokio::time::timeout(CLEANUP_LIMIT, factory.cleanup(&namespace))
            .await
            .is_err()
        {
            eprintln!("conformance: cleanup of namespace {namespace:?} timed out");
        }
        outcome
    });
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome
}

/// Paused clock: current thread, time only. Real clock: two workers, everything enabled.
fn build_runtime(paused: bool) -> Result<tokio::runtime::Runtime, Failed> {
    let built = if paused {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    built.map_err(|error| Failed::from(format!("could not build a tokio runtime: {error}")))
}

/// Runs `work` on its own thread and fails it if it has not finished within the watchdog limit,
/// so a trial that blocks its runtime fails instead of hanging the whole run.
fn guarded<W>(work: W) -> Result<(), Failed>
where
    W: FnOnce() -> Result<(), Failed> + Send + 'static,
{
    let (done, outcome) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("conformance-trial".into())
        .spawn(move || {
            let _ = done.send(catch_unwind(AssertUnwindSafe(work)));
        });
    if let Err(error) = spawned {
        return Err(Failed::from(format!(
            "could not start the trial thread: {error}"
        )));
    }
    match outcome.recv_timeout(WATCHDOG_LIMIT) {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(payload)) => Err(panicked(payload)),
        // The stuck thread is left behind; the test process ends when the run is over.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(hang(WATCHDOG_LIMIT)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err("the trial thread died".into()),
    }
}

fn hang(limit: Duration) -> Failed {
    Failed::from(format!(
        "the trial did not finish within {limit:?}: something hangs"
    ))
}

fn panicked(payload: Box<dyn std::any::Any + Send>) -> Failed {
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    Failed::from(format!("the trial panicked: {message}"))
}

/// `<backend>-<area>-<behaviour>`, limited to characters every registry accepts in a prefix.
fn namespace_stem(backend: &str, name: &str) -> String {
    format!("{backend}-{}", name.replace("::", "-"))
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                ch
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_stems_keep_only_safe_characters() {
        assert_eq!(
            namespace_stem("etcd", "heartbeat::register_then_is_alive"),
            "etcd-heartbeat-register_then_is_alive"
        );
        assert_eq!(namespace_stem("my db", "x::a/b"), "my-db-x-a-b");
    }

    #[test]
    fn a_panicking_body_fails_with_its_message() {
        let outcome = guarded(|| panic!("boom"));
        let message = outcome.unwrap_err().message().unwrap().to_owned();
        assert!(message.contains("boom"), "{message}");
    }
}
