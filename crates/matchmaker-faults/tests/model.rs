//! Model-based concurrency test: random register / unregister / expire / lookup sequences run
//! from 64 concurrent tokio tasks over two matchmaker instances sharing one namespace (memory,
//! etcd, Consul); afterwards both instances' `fanout~topic` lookups and `is_alive` must settle
//! on what a simple model, a set of `(topic, host)` pairs, says, and during the run no lookup
//! may fail.
//!
//! Deterministic despite the concurrency: every task owns its own pairs (its own hosts), so
//! the operations on one pair are sequential within one task while the tasks race each other.
//! A pair's register and unregister go through the instance that owns it (fixed per pair),
//! expire and lookups through either. No heartbeat runs and the TTL (30 s) outlasts a case,
//! so nothing expires by itself: an expired pair stays gone until registered again (its owner
//! still lists it among its registrations, for a heartbeat to re-create), and unregistering
//! an expired pair succeeds and only makes its owner forget it.
//!
//! During the run a lookup must never show a pair that was never registered, fanout routes
//! must be `fanout~t.h` sorted by host, and on memory (one linearizable registry) every read
//! must match the task's own model at once. On etcd and Consul, whose lookups read a watch-fed
//! cache, reads may lag; those that disagree with the last write made *through the same
//! instance* are printed, not failed.
//!
//! Cases: memory 64, etcd 6, Consul 4; `PROPTEST_CASES` overrides. etcd and Consul use the
//! servers `cargo xtask` shares when their variables are set and start their own otherwise;
//! with `MATCHMAKER_TEST_REQUIRED=1` a server that cannot be found fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use matchmaker_core::{
    HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, MatchMaker, Registration, Route,
};
use matchmaker_faults::{fanout_hosts, record, wait_for};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const SCENARIO: &str = "model-based concurrency (64 tasks, 2 instances)";
const TASKS: usize = 64;
/// A dotted topic and one that needs encoding in etcd keys and Consul service names.
const TOPICS: [&str; 3] = ["scheduler", "l3_agent.node1", "Billing/v1 é"];
const HOSTS_PER_TASK: usize = 2;
const PAIRS_PER_TASK: usize = TOPICS.len() * HOSTS_PER_TASK;
const TTL: Duration = Duration::from_secs(30);
/// How long the instances may take to agree with the model once the tasks are done.
const SETTLE_BOUND: Duration = Duration::from_secs(10);
/// The same for memory, where every change is visible at once.
const MEMORY_SETTLE_BOUND: Duration = Duration::from_millis(500);

type Instances<B> = [Arc<HeartbeatMatchMaker<B>>; 2];

/// One operation of a task; `pair` indexes the task's own pairs, `via` the instance used.
#[derive(Debug, Clone, Copy)]
enum Op {
    Register(usize),
    Unregister(usize),
    Expire { pair: usize, via: usize },
    Lookup { topic: usize, via: usize },
    IsAlive { pair: usize, via: usize },
}

impl Op {
    fn pair(self) -> Option<usize> {
        match self {
            Op::Register(pair) | Op::Unregister(pair) => Some(pair),
            Op::Expire { pair, .. } | Op::IsAlive { pair, .. } => Some(pair),
            Op::Lookup { .. } => None,
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    let pair = 0..PAIRS_PER_TASK;
    let via = 0..2usize;
    prop_oneof![
        3 => pair.clone().prop_map(Op::Register),
        2 => pair.clone().prop_map(Op::Unregister),
        2 => (pair.clone(), via.clone()).prop_map(|(pair, via)| Op::Expire { pair, via }),
        2 => (0..TOPICS.len(), via.clone()).prop_map(|(topic, via)| Op::Lookup { topic, via }),
        2 => (pair, via).prop_map(|(pair, via)| Op::IsAlive { pair, via }),
    ]
}

/// One list of operations per task.
fn plan(max_ops: usize) -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 0..=max_ops), TASKS)
}

fn topic_of(pair: usize) -> &'static str {
    TOPICS[pair / HOSTS_PER_TASK]
}

fn host_of(task: usize, pair: usize) -> String {
    format!("node{task:02}-{}.example", pair % HOSTS_PER_TASK)
}

/// The instance that registers and unregisters the pair: fixed, each taking half the pairs.
fn owner_of(task: usize, pair: usize) -> usize {
    (task + pair) % 2
}

/// What the model says about one pair after the task's operations so far.
#[derive(Debug, Clone, Copy, Default)]
struct PairState {
    /// Registered and neither unregistered nor expired since: lookups must show it.
    live: bool,
    /// Registered and not unregistered: its owner lists it among its registrations.
    owned: bool,
    ever_registered: bool,
    /// The instance through which the last write went.
    last_writer: Option<usize>,
}

struct TaskReport {
    states: [PairState; PAIRS_PER_TASK],
    ops: u64,
    /// Reads that disagreed with the last write made through the same instance (etcd, Consul).
    stale_reads: Vec<String>,
}

impl TaskReport {
    /// Checks one read of a pair of this task: `seen` is what instance `via` answered.
    fn check_read(
        &mut self,
        task: usize,
        pair: usize,
        via: usize,
        seen: bool,
        what: &str,
        strict: bool,
    ) -> Result<(), String> {
        let state = self.states[pair];
        if seen == state.live {
            return Ok(());
        }
        let message = format!(
            "task {task}: {what} through instance {via} says ({:?}, {:?}) is {}, the model \
             says {} (last write through instance {:?})",
            topic_of(pair),
            host_of(task, pair),
            if seen { "there" } else { "absent" },
            if state.live { "there" } else { "absent" },
            state.last_writer,
        );
        if seen && !state.ever_registered {
            return Err(format!("{message}; it was never registered"));
        }
        if strict {
            return Err(message);
        }
        if state.last_writer == Some(via) {
            self.stale_reads.push(message);
        }
        Ok(())
    }
}

/// The hosts of a fanout answer, checking the queue names and the sorted order.
fn fanout_answer(topic: &str, routes: &[Route]) -> Result<Vec<String>, String> {
    let mut hosts = Vec::with_capacity(routes.len());
    for route in routes {
        let Some(host) = route.host().map(str::to_owned) else {
            return Err(format!(
                "fanout~{topic} gave a route without host: {route:?}"
            ));
        };
        if route.queue() != format!("fanout~{topic}.{host}") {
            return Err(format!("fanout~{topic} gave the route {route:?}"));
        }
        hosts.push(host);
    }
    if !hosts.windows(2).all(|two| two[0] < two[1]) {
        return Err(format!(
            "fanout~{topic} hosts are not sorted and unique: {hosts:?}"
        ));
    }
    Ok(hosts)
}

async fn run_task<B: HeartbeatBackend>(
    task: usize,
    ops: Vec<Op>,
    instances: Instances<B>,
    strict: bool,
) -> Result<TaskReport, String> {
    let mut report = TaskReport {
        states: [PairState::default(); PAIRS_PER_TASK],
        ops: 0,
        stale_reads: Vec::new(),
    };
    for op in ops {
        report.ops += 1;
        // Memory operations never wait: yield so the tasks interleave there too.
        tokio::task::yield_now().await;
        match op {
            Op::Register(pair) => {
                let (topic, host, owner) =
                    (topic_of(pair), host_of(task, pair), owner_of(task, pair));
                instances[owner]
                    .register(topic, &host)
                    .await
                    .map_err(|error| {
                        format!("task {task}: register({topic:?}, {host:?}) on {owner}: {error}")
                    })?;
                report.states[pair] = PairState {
                    live: true,
                    owned: true,
                    ever_registered: true,
                    last_writer: Some(owner),
                };
            }
            Op::Unregister(pair) => {
                let (topic, host, owner) =
                    (topic_of(pair), host_of(task, pair), owner_of(task, pair));
                instances[owner]
                    .unregister(topic, &host)
                    .await
                    .map_err(|error| {
                        format!("task {task}: unregister({topic:?}, {host:?}) on {owner}: {error}")
                    })?;
                let state = &mut report.states[pair];
                (state.live, state.owned, state.last_writer) = (false, false, Some(owner));
            }
            Op::Expire { pair, via } => {
                let (topic, host) = (topic_of(pair), host_of(task, pair));
                instances[via].expire(topic, &host).await.map_err(|error| {
                    format!("task {task}: expire({topic:?}, {host:?}) on {via}: {error}")
                })?;
                let state = &mut report.states[pair];
                (state.live, state.last_writer) = (false, Some(via));
            }
            Op::Lookup { topic: index, via } => {
                let topic = TOPICS[index];
                let routes = instances[via]
                    .queues(&format!("fanout~{topic}"))
                    .await
                    .map_err(|error| format!("task {task}: fanout~{topic} on {via}: {error}"))?;
                let hosts =
                    fanout_answer(topic, &routes).map_err(|e| format!("task {task}: {e}"))?;
                for slot in 0..HOSTS_PER_TASK {
                    let pair = index * HOSTS_PER_TASK + slot;
                    let seen = hosts.binary_search(&host_of(task, pair)).is_ok();
                    report.check_read(task, pair, via, seen, "fanout", strict)?;
                }
            }
            Op::IsAlive { pair, via } => {
                let (topic, host) = (topic_of(pair), host_of(task, pair));
                let alive = instances[via]
                    .is_alive(topic, &host)
                    .await
                    .map_err(|error| {
                        format!("task {task}: is_alive({topic:?}, {host:?}) on {via}: {error}")
                    })?;
                report.check_read(task, pair, via, alive, "is_alive", strict)?;
            }
        }
    }
    Ok(report)
}

/// Where the instances' lookups and `is_alive` differ from `live` (topic -> hosts); with
/// `exhaustive` false it stops at the first instance whose fanout lookups differ.
async fn mismatches<B: HeartbeatBackend>(
    instances: &Instances<B>,
    live: &BTreeMap<&'static str, BTreeSet<String>>,
    touched: &BTreeSet<(usize, usize)>,
    exhaustive: bool,
) -> Vec<String> {
    let mut found = Vec::new();
    for (index, instance) in instances.iter().enumerate() {
        for (topic, expected) in live {
            match fanout_hosts(&**instance, topic).await {
                Some(hosts) if hosts.iter().eq(expected.iter()) => {}
                Some(hosts) => {
                    let hosts: BTreeSet<String> = hosts.into_iter().collect();
                    found.push(format!(
                        "instance {index}: fanout~{topic} lacks {:?} and has extra {:?}",
                        expected.difference(&hosts).collect::<Vec<_>>(),
                        hosts.difference(expected).collect::<Vec<_>>(),
                    ));
                }
                None => found.push(format!("instance {index}: fanout~{topic} failed")),
            }
        }
        if !found.is_empty() && !exhaustive {
            return found;
        }
        // Pairs no operation touched were never registered: the fanouts cover them.
        let checks = touched.iter().map(|&(task, pair)| async move {
            let (topic, host) = (topic_of(pair), host_of(task, pair));
            let alive = instance.is_alive(topic, &host).await;
            let expected = live[topic].contains(&host);
            match alive {
                Ok(alive) if alive == expected => None,
                other => Some(format!(
                    "instance {index}: is_alive({topic:?}, {host:?}) is {other:?}, expected {expected}"
                )),
            }
        });
        found.extend(join_all(checks).await.into_iter().flatten());
    }
    found
}

struct CaseOutcome {
    ops: u64,
    stale_reads: Vec<String>,
}

async fn run_case<B: HeartbeatBackend>(
    instances: &Instances<B>,
    plan: Vec<Vec<Op>>,
    strict: bool,
) -> Result<CaseOutcome, TestCaseError> {
    let settle_bound = if strict {
        MEMORY_SETTLE_BOUND
    } else {
        SETTLE_BOUND
    };
    let touched: BTreeSet<(usize, usize)> = plan
        .iter()
        .enumerate()
        .flat_map(|(task, ops)| {
            ops.iter()
                .filter_map(move |op| op.pair().map(|pair| (task, pair)))
        })
        .collect();
    let handles: Vec<_> = plan
        .into_iter()
        .enumerate()
        .map(|(task, ops)| tokio::spawn(run_task(task, ops, instances.clone(), strict)))
        .collect();
    let mut reports = Vec::with_capacity(TASKS);
    let mut errors = Vec::new();
    for (task, handle) in handles.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(error)) => errors.push(error),
            Err(error) => errors.push(format!("task {task} panicked: {error}")),
        }
    }
    if !errors.is_empty() {
        return Err(TestCaseError::fail(errors.join("\n")));
    }

    let mut live: BTreeMap<&'static str, BTreeSet<String>> = TOPICS
        .iter()
        .map(|&topic| (topic, BTreeSet::new()))
        .collect();
    let mut owned: [BTreeSet<Registration>; 2] = Default::default();
    for (task, report) in reports.iter().enumerate() {
        for (pair, state) in report.states.iter().enumerate() {
            let (topic, host) = (topic_of(pair), host_of(task, pair));
            if state.live {
                live.entry(topic).or_default().insert(host.clone());
            }
            if state.owned {
                owned[owner_of(task, pair)].insert(Registration::new(topic, host));
            }
        }
    }
    // What an instance keeps for its heartbeats is local: exact at once.
    for (index, instance) in instances.iter().enumerate() {
        let registrations: BTreeSet<Registration> = instance.registrations().into_iter().collect();
        if registrations != owned[index] {
            return Err(TestCaseError::fail(format!(
                "instance {index} lists {:?} it should not and lacks {:?}",
                registrations.difference(&owned[index]).collect::<Vec<_>>(),
                owned[index].difference(&registrations).collect::<Vec<_>>(),
            )));
        }
    }
    let (live_ref, touched_ref) = (&live, &touched);
    let settled = wait_for(settle_bound, move || async move {
        mismatches(instances, live_ref, touched_ref, false)
            .await
            .is_empty()
    })
    .await;
    if let Err(waited) = settled {
        let left = mismatches(instances, &live, &touched, true).await;
        let shown: Vec<&str> = left.iter().take(20).map(String::as_str).collect();
        return Err(TestCaseError::fail(format!(
            "{waited:?} after the tasks finished the instances still differ from the model in \
             {} places, first ones:\n{}",
            left.len(),
            shown.join("\n")
        )));
    }
    Ok(CaseOutcome {
        ops: reports.iter().map(|report| report.ops).sum(),
        stale_reads: reports
            .into_iter()
            .flat_map(|report| report.stale_reads)
            .collect(),
    })
}

/// A backend under test: makes two fresh instances sharing a fresh namespace per case.
trait Backend {
    type B: HeartbeatBackend;
    const NAME: &'static str;
    /// Two instances and the namespace they share.
    fn instances(&self) -> impl Future<Output = (String, Instances<Self::B>)>;
    /// Removes what a case left behind (best effort).
    fn clean_up(&self, namespace: &str, instances: &Instances<Self::B>)
        -> impl Future<Output = ()>;
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// Runs the model over `backend` for `default_cases` cases of up to `max_ops` operations per
/// task, and records the figure. `strict`: every read must match the model at once.
fn run_model<K: Backend>(backend: K, default_cases: u32, max_ops: usize, strict: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        // Every shrink step is a whole case, a failing one waits out the settle bound.
        max_shrink_iters: if strict { 256 } else { 32 },
        max_shrink_time: if strict { 60_000 } else { 300_000 },
        ..Config::default()
    };
    let (passed, ops) = (AtomicU64::new(0), AtomicU64::new(0));
    let stale_reads = Mutex::new(Vec::new());
    let started = Instant::now();
    let mut runner = TestRunner::new(config);
    let outcome = runner.run(&plan(max_ops), |plan| {
        runtime.block_on(async {
            let case_started = Instant::now();
            let (namespace, instances) = backend.instances().await;
            let outcome = run_case(&instances, plan, strict).await;
            backend.clean_up(&namespace, &instances).await;
            let outcome = outcome?;
            eprintln!(
                "{}: case {} ({} operations) took {:?}",
                K::NAME,
                passed.fetch_add(1, Ordering::Relaxed) + 1,
                outcome.ops,
                case_started.elapsed()
            );
            ops.fetch_add(outcome.ops, Ordering::Relaxed);
            stale_reads
                .lock()
                .expect("not poisoned")
                .extend(outcome.stale_reads);
            Ok(())
        })
    });
    if let Err(error) = outcome {
        panic!("{}: {error}", K::NAME);
    }
    let stale_reads = stale_reads.into_inner().expect("not poisoned");
    let (passed, ops) = (passed.into_inner(), ops.into_inner());
    eprintln!(
        "{}: {passed} cases, {ops} operations in {:?}; {} reads disagreed with the last write \
         through the same instance{}",
        K::NAME,
        started.elapsed(),
        stale_reads.len(),
        if stale_reads.is_empty() {
            ""
        } else {
            ", first ones:"
        },
    );
    for read in stale_reads.iter().take(10) {
        eprintln!("  {read}");
    }
    record(
        SCENARIO,
        &format!("{}: cases / operations / mismatches", K::NAME),
        format!("{passed} / {ops} / 0"),
    );
}

struct Memory;

impl Backend for Memory {
    type B = matchmaker_memory::MemoryBackend;
    const NAME: &'static str = "memory";

    async fn instances(&self) -> (String, Instances<Self::B>) {
        let registry = matchmaker_memory::MemoryRegistry::new();
        let config = HeartbeatConfig::with_ttl(TTL);
        let instance = || {
            Arc::new(matchmaker_memory::connect(&registry, config.clone()).expect("valid config"))
        };
        (String::new(), [instance(), instance()])
    }

    async fn clean_up(&self, _: &str, _: &Instances<Self::B>) {}
}

struct Etcd {
    endpoints: Vec<String>,
    _server: Option<matchmaker_testkit::etcd::EtcdServer>,
}

impl Etcd {
    /// The shared etcd when `cargo xtask` started one, else an own one; None after a skip line.
    fn find(test: &str) -> Option<Self> {
        use matchmaker_testkit::etcd;
        if std::env::var(etcd::ENDPOINTS_ENV).is_ok_and(|value| !value.trim().is_empty()) {
            let endpoints = etcd::shared_endpoints_or_skip(test)?;
            return Some(Etcd {
                endpoints,
                _server: None,
            });
        }
        if let Err(error) = etcd::binary() {
            if matchmaker_testkit::required() {
                panic!("{test}: {error} (MATCHMAKER_TEST_REQUIRED=1)");
            }
            eprintln!("skipping {test}: {error}");
            return None;
        }
        let server = etcd::EtcdServer::start(Default::default())
            .unwrap_or_else(|error| panic!("{test}: etcd did not start: {error}"));
        Some(Etcd {
            endpoints: server.endpoints(),
            _server: Some(server),
        })
    }
}

impl Backend for Etcd {
    type B = matchmaker_etcd::EtcdBackend;
    const NAME: &'static str = "etcd";

    async fn instances(&self) -> (String, Instances<Self::B>) {
        let prefix = format!("/matchmaker-test/model-{:016x}/", fastrand::u64(..));
        let config = matchmaker_etcd::EtcdConfig {
            endpoints: self.endpoints.clone(),
            prefix: prefix.clone(),
            heartbeat: HeartbeatConfig::with_ttl(TTL),
            connect_timeout: Duration::from_secs(5),
            // Generous: 64 tasks share two cores with the server; this is not a latency test.
            request_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        let connect = || async {
            Arc::new(
                matchmaker_etcd::connect(config.clone())
                    .await
                    .expect("connects to etcd"),
            )
        };
        let (a, b) = (connect().await, connect().await);
        (prefix, [a, b])
    }

    async fn clean_up(&self, prefix: &str, _: &Instances<Self::B>) {
        if let Ok(mut client) = etcd_client::Client::connect(&self.endpoints, None).await {
            let options = etcd_client::DeleteOptions::new().with_prefix();
            if let Err(error) = client.delete(prefix, Some(options)).await {
                eprintln!("etcd: could not delete {prefix}: {error}");
            }
        }
    }
}

struct Consul {
    address: String,
    _agent: Option<matchmaker_testkit::consul::ConsulAgent>,
}

impl Consul {
    /// The shared agent when `cargo xtask` started one, else an own one; None after a skip line.
    fn find(test: &str) -> Option<Self> {
        use matchmaker_testkit::consul;
        if std::env::var(consul::ADDR_ENV).is_ok_and(|value| !value.trim().is_empty()) {
            let address = consul::shared_addr_or_skip(test)?;
            return Some(Consul {
                address,
                _agent: None,
            });
        }
        if let Err(error) = consul::binary() {
            if matchmaker_testkit::required() {
                panic!("{test}: {error} (MATCHMAKER_TEST_REQUIRED=1)");
            }
            eprintln!("skipping {test}: {error}");
            return None;
        }
        let agent = consul::ConsulAgent::start(Default::default())
            .unwrap_or_else(|error| panic!("{test}: the consul agent did not start: {error}"));
        Some(Consul {
            address: agent.addr(),
            _agent: Some(agent),
        })
    }
}

impl Backend for Consul {
    type B = matchmaker_consul::ConsulBackend;
    const NAME: &'static str = "consul";

    async fn instances(&self) -> (String, Instances<Self::B>) {
        let namespace = format!("model-{:08x}", fastrand::u32(..));
        let config = matchmaker_consul::ConsulConfig {
            address: self.address.clone(),
            namespace: namespace.clone(),
            heartbeat: HeartbeatConfig::with_ttl(TTL),
            blocking_wait: Duration::from_secs(10),
            ..Default::default()
        };
        let connect = || async {
            Arc::new(
                matchmaker_consul::connect(config.clone())
                    .await
                    .expect("connects to consul"),
            )
        };
        let (a, b) = (connect().await, connect().await);
        (namespace, [a, b])
    }

    async fn clean_up(&self, namespace: &str, instances: &Instances<Self::B>) {
        if let Err(error) = instances[0].backend().purge_namespace().await {
            eprintln!("consul: could not purge namespace {namespace}: {error}");
        }
    }
}

#[test]
fn memory_two_instances_match_the_model() {
    run_model(Memory, 64, 32, true);
}

#[test]
fn etcd_two_instances_match_the_model() {
    let Some(etcd) = Etcd::find("etcd_two_instances_match_the_model") else {
        return;
    };
    run_model(etcd, 6, 24, false);
}

#[test]
fn consul_two_instances_match_the_model() {
    let Some(consul) = Consul::find("consul_two_instances_match_the_model") else {
        return;
    };
    run_model(consul, 4, 16, false);
}
