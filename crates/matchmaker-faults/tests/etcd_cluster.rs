//! A 3-member etcd cluster on loopback loses its leader, then its quorum, while a holder
//! heartbeats five registrations and a reader looks them up every 20 ms.
//!
//! - **Leader SIGKILL**: no lookup is ever empty or an error, no registration is lost, and the
//!   first write after the kill succeeds within the election plus one retry (bound: 10 s, far
//!   above the 0.1-0.2 s measured, so a loaded machine cannot fail it; the figure is recorded).
//! - **Quorum loss and return**: two of three members SIGKILLed for two TTLs. Lookups keep
//!   answering the last known hosts, marked stale; once the members return, the cache is fresh
//!   again and every registration is alive (nothing expires without a leader, and etcd restarts
//!   lease countdowns after an election).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use matchmaker_core::{HeartbeatConfig, MatchMaker};
use matchmaker_etcd::{EtcdConfig, EtcdMatchMaker};
use matchmaker_faults::{fanout_hosts, record, record_duration, wait_for};
use matchmaker_testkit::etcd::EtcdCluster;

/// Longer than etcd's 2 s floor: a WAL stall on a loaded disk must not cost a lease here.
const TTL: Duration = Duration::from_secs(5);
const TOPICS: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
const HOST: &str = "node-h";
/// Generous bounds for what the scenarios wait for; the measured times are recorded.
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

fn config(endpoints: &[String], prefix: &str) -> EtcdConfig {
    EtcdConfig {
        endpoints: endpoints.to_vec(),
        prefix: prefix.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(TTL),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..EtcdConfig::default()
    }
}

async fn connect(endpoints: &[String], prefix: &str) -> EtcdMatchMaker {
    matchmaker_etcd::connect(config(endpoints, prefix))
        .await
        .expect("connects to the healthy cluster")
}

/// The member index of the current leader, asked of every member.
async fn leader_index(cluster: &EtcdCluster) -> usize {
    let mut ids = Vec::new();
    let mut leader = None;
    for endpoint in cluster.endpoints() {
        let mut client = etcd_client::Client::connect([endpoint.as_str()], None)
            .await
            .expect("a raw client connects");
        let status = client
            .status()
            .await
            .expect("the member reports its status");
        ids.push(status.header().expect("a header").member_id());
        leader = Some(status.leader());
    }
    let leader = leader.expect("three members");
    ids.iter()
        .position(|id| *id == leader)
        .expect("the leader is a member")
}

/// Every topic's fanout on `matchmaker` holds exactly [`HOST`].
async fn all_present(matchmaker: &EtcdMatchMaker) -> bool {
    for topic in TOPICS {
        if fanout_hosts(matchmaker, topic).await != Some(vec![HOST.to_owned()]) {
            return false;
        }
    }
    true
}

/// Looks up every topic every 20 ms until stopped; counts lookups, empty answers and errors.
struct Poller {
    stop: Arc<AtomicBool>,
    lookups: Arc<AtomicU64>,
    empty: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Poller {
    fn start(reader: Arc<EtcdMatchMaker>) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let lookups = Arc::new(AtomicU64::new(0));
        let empty = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (stop, lookups, empty, errors) =
                (stop.clone(), lookups.clone(), empty.clone(), errors.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    for topic in TOPICS {
                        lookups.fetch_add(1, Ordering::Relaxed);
                        match reader.queues(&format!("fanout~{topic}")).await {
                            Ok(routes) if routes.is_empty() => {
                                empty.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(_) => {}
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        Poller {
            stop,
            lookups,
            empty,
            errors,
            task,
        }
    }

    /// Stops polling: (lookups, empty answers, errors).
    async fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the poller ends");
        (
            self.lookups.load(Ordering::Relaxed),
            self.empty.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// A holder with [`TOPICS`] registered and heartbeating, and a reader that sees them all.
async fn holder_and_reader(
    endpoints: &[String],
    prefix: &str,
) -> (EtcdMatchMaker, Arc<EtcdMatchMaker>) {
    let holder = connect(endpoints, prefix).await;
    for topic in TOPICS {
        holder.register(topic, HOST).await.expect("registers");
    }
    holder.start_heartbeat().expect("heartbeat starts");
    let reader = Arc::new(connect(endpoints, prefix).await);
    wait_for(RECOVERY_BOUND, || all_present(&reader))
        .await
        .expect("the reader sees every registration");
    (holder, reader)
}

/// Counts registrations alive through `holder` (is_alive) and in `reader`'s lookups.
async fn lost_registrations(holder: &EtcdMatchMaker, reader: &EtcdMatchMaker) -> usize {
    let mut lost = 0;
    for topic in TOPICS {
        let alive = holder.is_alive(topic, HOST).await.unwrap_or(false);
        let listed = fanout_hosts(reader, topic).await == Some(vec![HOST.to_owned()]);
        if !alive || !listed {
            lost += 1;
        }
    }
    lost
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_sigkill_loses_no_registration_and_never_empties_a_lookup() {
    let scenario = "etcd 3-member cluster: leader SIGKILL";
    let Some(mut cluster) = matchmaker_testkit::etcd::cluster_or_skip(3, "leader_sigkill") else {
        return;
    };
    let endpoints = cluster.endpoints();
    let prefix = format!("/mm-faults/leader-{:08x}/", fastrand::u32(..));
    let (holder, reader) = holder_and_reader(&endpoints, &prefix).await;
    let poller = Poller::start(reader.clone());

    let leader = leader_index(&cluster).await;
    let killed = Instant::now();
    cluster.kill(leader);
    let failed_attempts = std::sync::Mutex::new(Vec::new());
    let first_write = wait_for(RECOVERY_BOUND, || async {
        let started = Instant::now();
        match holder.register("after-kill", HOST).await {
            Ok(()) => true,
            Err(error) => {
                let first_line = error.to_string().lines().next().unwrap_or("").to_owned();
                let took = started.elapsed().as_millis();
                failed_attempts
                    .lock()
                    .unwrap()
                    .push(format!("{took} ms: {first_line}"));
                false
            }
        }
    })
    .await
    .unwrap_or_else(|waited| panic!("no write succeeded {waited:?} after the leader died"));
    let failed_attempts = failed_attempts.into_inner().unwrap();
    let fresh = wait_for(RECOVERY_BOUND, || async {
        match matchmaker_etcd::connect(config(&endpoints, &prefix)).await {
            Ok(fresh) => all_present(&fresh).await,
            Err(_) => false,
        }
    })
    .await
    .unwrap_or_else(|waited| panic!("no fresh connect worked {waited:?} after the leader died"));
    // Two TTLs past the kill: any lease the election could have cost would have expired.
    tokio::time::sleep((TTL * 2).saturating_sub(killed.elapsed())).await;
    let (lookups, empty, errors) = poller.finish().await;
    let lost = lost_registrations(&holder, &reader).await;

    record_duration(
        scenario,
        "first write after the kill succeeded after",
        first_write,
    );
    record(
        scenario,
        "failed attempts before it",
        format!("{} {failed_attempts:?}", failed_attempts.len()),
    );
    record_duration(scenario, "a fresh connect + lookup works after", fresh);
    record(
        scenario,
        "lookups during 2 TTLs / empty / errors",
        format!("{lookups} / {empty} / {errors}"),
    );
    record(scenario, "registrations lost (of 5)", lost);
    assert_eq!((empty, errors), (0, 0), "of {lookups} lookups");
    assert_eq!(lost, 0);
    holder.stop_heartbeat();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_loss_serves_stale_lookups_and_loses_nothing_when_quorum_returns() {
    let scenario = "etcd 3-member cluster: quorum lost for 2 TTLs, then back";
    let Some(mut cluster) = matchmaker_testkit::etcd::cluster_or_skip(3, "quorum_loss") else {
        return;
    };
    let endpoints = cluster.endpoints();
    let prefix = format!("/mm-faults/quorum-{:08x}/", fastrand::u32(..));
    let (holder, reader) = holder_and_reader(&endpoints, &prefix).await;
    let poller = Poller::start(reader.clone());

    cluster.kill(1);
    cluster.kill(2);
    let lost_quorum = Instant::now();
    let marked_stale = wait_for(RECOVERY_BOUND, || async {
        reader.backend().cache_status().stale_since.is_some()
    })
    .await;
    let write_during_outage = holder.register("during-outage", HOST).await;
    tokio::time::sleep((TTL * 2).saturating_sub(lost_quorum.elapsed())).await;
    let (lookups, empty, errors) = poller.finish().await;

    cluster.restart(1).expect("member 1 restarts on its data");
    cluster.restart(2).expect("member 2 restarts on its data");
    let returned = Instant::now();
    let fresh_again = wait_for(RECOVERY_BOUND * 3, || async {
        let status = reader.backend().cache_status();
        status.connected && status.stale_since.is_none() && all_present(&reader).await
    })
    .await
    .unwrap_or_else(|waited| panic!("the reader's cache was still stale {waited:?} after"));
    let write_after = wait_for(RECOVERY_BOUND, || async {
        holder.register("after-outage", HOST).await.is_ok()
    })
    .await
    .unwrap_or_else(|waited| panic!("no write succeeded {waited:?} after quorum returned"));
    // One TTL more: a registration whose lease had really expired would be gone by now.
    tokio::time::sleep(TTL.saturating_sub(returned.elapsed())).await;
    let lost = lost_registrations(&holder, &reader).await;

    match marked_stale {
        Ok(took) => record_duration(scenario, "lookups marked stale after", took),
        Err(_) => record(scenario, "lookups marked stale after", "never"),
    }
    record(
        scenario,
        "a write during the outage",
        match &write_during_outage {
            Ok(()) => "succeeded (unexpected)".to_owned(),
            Err(error) => format!("failed: {}", error.to_string().lines().next().unwrap_or("")),
        },
    );
    record(
        scenario,
        "lookups during the outage / empty / errors",
        format!("{lookups} / {empty} / {errors}"),
    );
    record_duration(
        scenario,
        "cache fresh again after the members returned",
        fresh_again,
    );
    record_duration(
        scenario,
        "first write after the members returned",
        write_after,
    );
    record(scenario, "registrations lost (of 5)", lost);
    assert!(marked_stale.is_ok(), "lookups were never marked stale");
    assert!(
        write_during_outage.is_err(),
        "a write without quorum succeeded"
    );
    assert_eq!(
        (empty, errors),
        (0, 0),
        "of {lookups} lookups during the outage"
    );
    assert_eq!(lost, 0);
    holder.stop_heartbeat();
}
