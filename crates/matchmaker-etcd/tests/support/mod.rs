//! Helpers shared by the integration tests: the shared etcd, random prefixes, raw clients.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use matchmaker_core::HeartbeatConfig;
use matchmaker_etcd::{EtcdConfig, EtcdMatchMaker};
use matchmaker_testkit::etcd::EtcdServer;

/// The TTL the tests use: etcd's floor, so expiry tests stay short.
pub const TTL: Duration = Duration::from_secs(2);

/// Endpoints of the etcd started by `cargo xtask` (or None after printing a skip line; a
/// panic when `MATCHMAKER_TEST_REQUIRED=1`).
pub fn shared_endpoints(test_name: &str) -> Option<Vec<String>> {
    matchmaker_testkit::etcd::shared_endpoints_or_skip(test_name)
}

/// A fresh prefix so tests never see each other's keys.
pub fn random_prefix(test_name: &str) -> String {
    format!("/matchmaker-test/{test_name}-{:016x}/", fastrand::u64(..))
}

/// A config for `endpoints` under `prefix` with the test TTL.
pub fn config(endpoints: &[String], prefix: &str) -> EtcdConfig {
    EtcdConfig {
        endpoints: endpoints.to_vec(),
        prefix: prefix.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(TTL),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        ..EtcdConfig::default()
    }
}

/// A matchmaker on `endpoints` under `prefix` with the test config.
pub async fn connect(endpoints: &[String], prefix: &str) -> EtcdMatchMaker {
    matchmaker_etcd::connect(config(endpoints, prefix))
        .await
        .expect("the matchmaker connects")
}

/// Two matchmakers ("instances" A and B) sharing `prefix`.
pub async fn pair(endpoints: &[String], prefix: &str) -> (EtcdMatchMaker, EtcdMatchMaker) {
    (
        connect(endpoints, prefix).await,
        connect(endpoints, prefix).await,
    )
}

/// A plain etcd client, to look at and tamper with etcd from outside the matchmaker.
pub async fn raw_client(endpoints: &[String]) -> etcd_client::Client {
    etcd_client::Client::connect(endpoints, None)
        .await
        .expect("raw etcd client connects")
}

/// Every key under `prefix`, as text.
pub async fn keys_under(client: &etcd_client::Client, prefix: &str) -> Vec<String> {
    let response = client
        .clone()
        .get(
            prefix,
            Some(
                etcd_client::GetOptions::new()
                    .with_prefix()
                    .with_keys_only(),
            ),
        )
        .await
        .expect("range succeeds");
    response
        .kvs()
        .iter()
        .map(|kv| String::from_utf8_lossy(kv.key()).into_owned())
        .collect()
}

/// Deletes everything under `prefix` (best effort).
pub async fn delete_prefix(endpoints: &[String], prefix: &str) {
    if let Ok(mut client) = etcd_client::Client::connect(endpoints, None).await {
        let options = etcd_client::DeleteOptions::new().with_prefix();
        let _ = client.delete(prefix, Some(options)).await;
    }
}

/// Polls `condition` every 20 ms until it holds or `within` passes; the time it took.
pub async fn eventually<F, Fut>(within: Duration, mut condition: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until a fanout lookup of `topic` on `matchmaker` returns exactly `expected` (sorted),
/// or `within` passes; the time it took.
pub async fn wait_until_fanout<S: AsRef<str>>(
    matchmaker: &impl matchmaker_core::MatchMaker,
    topic: &str,
    expected: &[S],
    within: Duration,
) -> Option<Duration> {
    eventually(within, || async {
        let hosts = fanout_hosts(matchmaker, topic).await;
        hosts
            .iter()
            .map(String::as_str)
            .eq(expected.iter().map(AsRef::as_ref))
    })
    .await
}

/// Polls until a fanout lookup of `topic` on `matchmaker` finds no host, or `within` passes;
/// the time it took.
pub async fn wait_until_fanout_is_empty(
    matchmaker: &impl matchmaker_core::MatchMaker,
    topic: &str,
    within: Duration,
) -> Option<Duration> {
    wait_until_fanout::<&str>(matchmaker, topic, &[], within).await
}

/// Restarts `server` (same data dir and ports) off the async runtime and hands it back once it
/// serves clients again.
pub async fn restart(
    mut server: EtcdServer,
) -> Result<EtcdServer, matchmaker_testkit::TestkitError> {
    tokio::task::spawn_blocking(move || server.restart().map(|()| server))
        .await
        .expect("the restart task does not panic")
}

/// An etcd of the test's own (for restarts, TLS, auth), or None after printing a skip line
/// when no etcd binary is found (a panic when `MATCHMAKER_TEST_REQUIRED=1`).
pub fn own_server(
    test_name: &str,
    options: matchmaker_testkit::etcd::EtcdOptions,
) -> Option<EtcdServer> {
    if let Err(error) = matchmaker_testkit::etcd::binary() {
        if matchmaker_testkit::required() {
            panic!("{test_name}: {error} (MATCHMAKER_TEST_REQUIRED=1)");
        }
        eprintln!("skipping {test_name}: {error}");
        return None;
    }
    Some(
        EtcdServer::start(options)
            .unwrap_or_else(|error| panic!("{test_name}: etcd did not start: {error}")),
    )
}

/// The sorted hosts a fanout lookup of `topic` returns.
pub async fn fanout_hosts(
    matchmaker: &impl matchmaker_core::MatchMaker,
    topic: &str,
) -> Vec<String> {
    let mut hosts: Vec<String> = matchmaker
        .queues(&format!("fanout~{topic}"))
        .await
        .expect("lookup succeeds")
        .hosts()
        .map(str::to_owned)
        .collect();
    hosts.sort();
    hosts
}
