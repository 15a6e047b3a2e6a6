//! The entry points: which trials a backend gets, and running them as a test binary.

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};

use crate::capabilities::Need;
use crate::harness::{ignored_trial, local_trial, trial, Context};
use crate::{areas, Capabilities, Factory};

/// One backend's run of the suite: the built-in trials, optional extra trials of the backend's
/// own, and optionally a reason why the backend is unavailable (then every trial is ignored).
pub struct Suite {
    plan: Plan,
    extra: Vec<Trial>,
}

impl Suite {
    /// The suite for `backend` (a short name used in namespaces, e.g. `etcd`).
    pub fn new(backend: &str, factory: Arc<dyn Factory>, capabilities: Capabilities) -> Self {
        Suite {
            plan: Plan {
                backend: backend.to_owned(),
                factory,
                capabilities,
                unavailable: None,
            },
            extra: Vec::new(),
        }
    }

    /// Adds the backend's own trials (built with [`crate::trial`]) to the same run.
    pub fn with_extra(mut self, extra: Vec<Trial>) -> Self {
        self.extra.extend(extra);
        self
    }

    /// When `reason` is `Some`, every trial is reported ignored with it (a backend whose
    /// server is missing and not required).
    pub fn unavailable(mut self, reason: Option<String>) -> Self {
        self.plan.unavailable = reason;
        self
    }

    /// Every trial, named `<area>::<behaviour>`.
    pub fn trials(self) -> Vec<Trial> {
        let plan = self.plan;
        let mut trials = areas::all(&plan);
        let unavailable = plan.unavailable.is_some();
        trials.extend(self.extra.into_iter().map(|extra| {
            if unavailable {
                extra.with_kind("unavailable").with_ignored_flag(true)
            } else {
                extra
            }
        }));
        trials
    }

    /// Parses the libtest command line, runs every trial and returns the exit code.
    pub fn run(self) -> ExitCode {
        if let Some(reason) = &self.plan.unavailable {
            eprintln!(
                "conformance: {} is unavailable, every trial is ignored: {reason}",
                self.plan.backend
            );
        }
        let arguments = Arguments::from_args();
        libtest_mimic::run(&arguments, self.trials()).exit_code()
    }
}

/// All trials for this backend, named `<area>::<behaviour>`, e.g.
/// `heartbeat::unregister_keeps_other_topics_of_the_host`.
pub fn trials(backend: &str, factory: Arc<dyn Factory>, capabilities: Capabilities) -> Vec<Trial> {
    Suite::new(backend, factory, capabilities).trials()
}

/// Runs every trial from a `harness = false` test file: parses the libtest arguments, runs
/// [`trials`] and returns the exit code.
pub fn run(backend: &str, factory: Arc<dyn Factory>, capabilities: Capabilities) -> ExitCode {
    Suite::new(backend, factory, capabilities).run()
}

/// Like [`run`], plus the backend's own `extra` trials in the same run.
pub fn run_with(
    backend: &str,
    factory: Arc<dyn Factory>,
    capabilities: Capabilities,
    extra: Vec<Trial>,
) -> ExitCode {
    Suite::new(backend, factory, capabilities)
        .with_extra(extra)
        .run()
}

/// Like [`run`], but when `unavailable` is `Some(reason)` every trial is reported ignored
/// with that reason (a backend whose server is missing and not required).
pub fn run_or_ignore(
    backend: &str,
    factory: Arc<dyn Factory>,
    capabilities: Capabilities,
    unavailable: Option<String>,
) -> ExitCode {
    Suite::new(backend, factory, capabilities)
        .unavailable(unavailable)
        .run()
}

/// What the area modules build their trials from.
pub(crate) struct Plan {
    backend: String,
    factory: Arc<dyn Factory>,
    capabilities: Capabilities,
    unavailable: Option<String>,
}

impl Plan {
    /// A trial on core types only (bindings, exchanges, the rule engine).
    pub(crate) fn local<F, Fut>(&self, name: &str, body: F) -> Trial
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Failed>> + Send + 'static,
    {
        match &self.unavailable {
            Some(reason) => ignored_trial(name, format!("unavailable: {reason}")),
            None => local_trial(name, body),
        }
    }

    /// A trial against the backend, ignored unless every need is met.
    pub(crate) fn backend<F, Fut>(&self, name: &str, needs: &[Need], body: F) -> Trial
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Failed>> + Send + 'static,
    {
        if let Some(reason) = &self.unavailable {
            return ignored_trial(name, format!("unavailable: {reason}"));
        }
        if let Some(reason) = Need::first_unmet(needs, &self.capabilities) {
            return ignored_trial(name, reason);
        }
        trial(
            &self.backend,
            name,
            self.factory.clone(),
            self.capabilities.clone(),
            body,
        )
    }
}
