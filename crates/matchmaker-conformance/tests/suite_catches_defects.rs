//! The suite must fail when a behaviour is broken: each test runs one trial against a backend
//! with one deliberate defect and expects that trial to fail (a trial that cannot fail is a
//! defect of the suite).

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use libtest_mimic::{Arguments, Conclusion};
use matchmaker_conformance::{trials, Capabilities, Factory, Flavor};
use matchmaker_core::{Binding, Exchange, MatchMaker, Result, Routes, StaticMatchMaker};
use support::{Defect, FakeFactory};

/// Runs `trials` quietly (output goes to a log file) and returns the conclusion and the log.
fn run_quietly(arguments: Arguments, trials: Vec<libtest_mimic::Trial>) -> (Conclusion, String) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let log = std::env::temp_dir().join(format!(
        "conformance-defects-{}-{}.log",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let arguments = Arguments {
        logfile: Some(log.display().to_string()),
        ..arguments
    };
    let conclusion = libtest_mimic::run(&arguments, trials);
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (conclusion, output)
}

/// Runs the one trial called `name`; returns the conclusion and the run's output.
fn run_one(
    factory: Arc<dyn Factory>,
    capabilities: Capabilities,
    name: &str,
) -> (Conclusion, String) {
    let arguments = Arguments {
        filter: Some(name.to_owned()),
        exact: true,
        test_threads: Some(1),
        ..Arguments::default()
    };
    let (conclusion, output) = run_quietly(arguments, trials("defect", factory, capabilities));
    assert_eq!(
        conclusion.num_filtered_out + 1,
        trials_len(),
        "no trial named {name}"
    );
    (conclusion, output)
}

fn trials_len() -> u64 {
    let factory = FakeFactory::new(Duration::from_secs(10), None);
    let capabilities = factory.capabilities(true);
    trials("count", factory, capabilities).len() as u64
}

fn assert_fails(factory: Arc<dyn Factory>, capabilities: Capabilities, name: &str) {
    let (conclusion, output) = run_one(factory, capabilities, name);
    assert_eq!(conclusion.num_failed, 1, "{name} did not fail:\n{output}");
}

fn assert_fake_defect_fails(defect: Defect, name: &str) {
    let healthy = FakeFactory::new(Duration::from_secs(10), None);
    let capabilities = healthy.capabilities(true);
    let (control, output) = run_one(healthy, capabilities.clone(), name);
    assert_eq!(
        control.num_passed, 1,
        "{name} fails without {defect:?}:\n{output}"
    );
    assert_fails(
        FakeFactory::new(Duration::from_secs(10), Some(defect)),
        capabilities,
        name,
    );
}

#[test]
fn is_alive_that_errors_for_an_unknown_pair_is_caught() {
    assert_fake_defect_fails(
        Defect::UnknownPairIsAnError,
        "heartbeat::is_alive_of_unknown_pair_is_false",
    );
}

#[test]
fn expire_that_removes_the_whole_topic_is_caught() {
    assert_fake_defect_fails(
        Defect::ExpireRemovesTheWholeTopic,
        "heartbeat::expire_removes_that_pair_only",
    );
}

#[test]
fn unregister_that_forgets_the_whole_host_is_caught() {
    assert_fake_defect_fails(
        Defect::UnregisterRemovesTheWholeHost,
        "heartbeat::unregister_keeps_other_topics_of_the_host",
    );
}

#[test]
fn fanout_in_unstable_order_is_caught() {
    assert_fake_defect_fails(
        Defect::FanoutInReverseOrder,
        "heartbeat::fanout_returns_all_live_hosts_in_stable_order",
    );
}

#[test]
fn a_topic_lookup_that_always_picks_the_same_host_is_caught() {
    assert_fake_defect_fails(
        Defect::OnlyTheFirstHost,
        "heartbeat::topic_lookups_spread_over_every_live_host",
    );
}

#[test]
fn ack_alive_that_does_not_recreate_is_caught() {
    assert_fake_defect_fails(
        Defect::AckAliveDoesNotRecreate,
        "heartbeat::ack_alive_recreates_a_vanished_record",
    );
}

#[test]
fn topics_matched_by_prefix_are_caught() {
    assert_fake_defect_fails(
        Defect::TopicMatchesByPrefix,
        "input::hostile_but_valid_topics_round_trip",
    );
}

#[test]
fn registrations_that_never_expire_are_caught() {
    for name in [
        "ttl::unrefreshed_registration_expires_after_the_ttl",
        "ttl::stopped_heartbeat_lets_the_registration_expire",
        "heartbeat::dropping_the_matchmaker_stops_its_heartbeat",
    ] {
        assert_fake_defect_fails(Defect::NeverExpires, name);
    }
}

#[test]
fn a_drain_that_waits_for_the_ttl_is_caught() {
    assert_fake_defect_fails(
        Defect::DrainKeepsTheRecords,
        "heartbeat::drain_removes_every_registration_from_other_instances_without_a_ttl_wait",
    );
}

#[test]
fn joins_without_metadata_are_caught() {
    assert_fake_defect_fails(
        Defect::JoinsWithoutMetadata,
        "membership::a_join_event_carries_the_metadata_the_host_registered_with",
    );
}

#[test]
fn a_stream_without_its_snapshot_is_caught() {
    assert_fake_defect_fails(
        Defect::StreamWithoutSnapshot,
        "membership::a_stream_starts_with_a_snapshot_of_the_members_then_yields_only_changes",
    );
}

/// A stub whose `register` skips key validation.
struct LenientStub(StaticMatchMaker);

#[async_trait]
impl MatchMaker for LenientStub {
    fn add_binding(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        self.0.add_binding(binding, exchange, last)
    }
    async fn queues(&self, key: &str) -> Result<Routes> {
        self.0.queues(key).await
    }
    async fn register(&self, _topic: &str, _host: &str) -> Result<()> {
        Ok(())
    }
    async fn unregister(&self, topic: &str, host: &str) -> Result<()> {
        self.0.unregister(topic, host).await
    }
    async fn ack_alive(&self, topic: &str, host: &str) -> Result<()> {
        self.0.ack_alive(topic, host).await
    }
    async fn is_alive(&self, topic: &str, host: &str) -> Result<bool> {
        self.0.is_alive(topic, host).await
    }
    async fn expire(&self, topic: &str, host: &str) -> Result<()> {
        self.0.expire(topic, host).await
    }
    async fn send_heartbeats(&self) -> Result<()> {
        self.0.send_heartbeats().await
    }
    fn start_heartbeat(&self) -> Result<()> {
        self.0.start_heartbeat()
    }
    fn stop_heartbeat(&self) {
        self.0.stop_heartbeat()
    }
    async fn drain(&self, timeout: Duration) -> Result<()> {
        self.0.drain(timeout).await
    }
}

struct LenientStubFactory;

#[async_trait]
impl Factory for LenientStubFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(LenientStub(StaticMatchMaker::stub())))
    }
}

#[test]
fn register_without_validation_is_caught() {
    assert_fails(
        Arc::new(LenientStubFactory),
        Capabilities::static_rules(Flavor::Stub),
        "input::register_rejects_invalid_pairs_and_changes_nothing",
    );
}

struct StubFactory;

#[async_trait]
impl Factory for StubFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(StaticMatchMaker::stub()))
    }
}

#[test]
fn register_that_accepts_display_spoofing_or_blank_keys_is_caught() {
    for name in [
        "input::bidi_zero_width_and_format_characters_are_rejected",
        "input::topics_and_hosts_made_only_of_whitespace_are_rejected",
    ] {
        let capabilities = Capabilities::static_rules(Flavor::Stub);
        let (control, output) = run_one(Arc::new(StubFactory), capabilities.clone(), name);
        assert_eq!(
            control.num_passed, 1,
            "{name} fails on a validating stub:\n{output}"
        );
        assert_fails(Arc::new(LenientStubFactory), capabilities, name);
    }
}

struct LocalhostFactory(&'static str);

#[async_trait]
impl Factory for LocalhostFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(StaticMatchMaker::localhost(self.0)?))
    }
}

#[test]
fn localhost_rules_with_the_wrong_host_are_caught() {
    let flavor = Flavor::Localhost {
        host: "node-1".to_owned(),
    };
    assert_fails(
        Arc::new(LocalhostFactory("localhost")),
        Capabilities::static_rules(flavor),
        "exchange::localhost_backend_gives_the_upstream_results",
    );
}

/// A factory that hangs or panics in `create`, and records its cleanup.
struct BrokenFactory {
    panics: bool,
    cleaned_up: AtomicBool,
}

#[async_trait]
impl Factory for BrokenFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        if self.panics {
            panic!("create exploded");
        }
        std::future::pending().await
    }

    async fn cleanup(&self, _namespace: &str) {
        self.cleaned_up.store(true, Ordering::SeqCst);
    }
}

fn assert_broken_factory_fails_and_cleans_up(panics: bool) {
    let factory = Arc::new(BrokenFactory {
        panics,
        cleaned_up: AtomicBool::new(false),
    });
    let capabilities = Capabilities {
        flavor: Flavor::Heartbeat,
        shared_registry: false,
        ttl: None,
        paused_time: true,
    };
    assert_fails(
        factory.clone(),
        capabilities,
        "heartbeat::register_then_is_alive",
    );
    assert!(
        factory.cleaned_up.load(Ordering::SeqCst),
        "cleanup was not called"
    );
}

#[test]
fn a_hanging_trial_fails_and_is_cleaned_up() {
    assert_broken_factory_fails_and_cleans_up(false);
}

#[test]
fn a_panicking_trial_fails_and_is_cleaned_up() {
    assert_broken_factory_fails_and_cleans_up(true);
}

#[test]
fn unavailable_backends_report_every_trial_ignored() {
    let factory = FakeFactory::new(Duration::from_secs(10), None);
    let capabilities = factory.capabilities(true);
    let suite = matchmaker_conformance::Suite::new("gone", factory, capabilities)
        .unavailable(Some("server not running".to_owned()));
    let trials = suite.trials();
    let count = trials.len() as u64;
    let (conclusion, output) = run_quietly(Arguments::default(), trials);
    assert_eq!(conclusion.num_ignored, count, "{output}");
    assert!(
        output.contains("unavailable: server not running"),
        "{output}"
    );
}
