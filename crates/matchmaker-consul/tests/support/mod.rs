//! Shared helpers of the Consul integration tests: the shared agent, own agents, namespaces.
#![allow(dead_code)]

pub mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

use matchmaker_consul::{ConsulConfig, ConsulMatchMaker};
use matchmaker_core::HeartbeatConfig;
use matchmaker_testkit::consul::{ConsulAgent, ConsulOptions};

/// A namespace no other test uses.
pub fn unique_namespace(test: &str) -> String {
    format!("{test}-{:08x}", fastrand::u32(..))
}

/// A config for the shared agent (`MATCHMAKER_CONSUL_ADDR`), or None after a skip line.
pub fn shared_config(test: &str, ttl: Duration) -> Option<ConsulConfig> {
    let address = matchmaker_testkit::consul::shared_addr_or_skip(test)?;
    Some(config_for(&address, &unique_namespace(test), ttl))
}

/// A config for the agent at `address` in `namespace`.
pub fn config_for(address: &str, namespace: &str, ttl: Duration) -> ConsulConfig {
    ConsulConfig {
        address: address.to_owned(),
        namespace: namespace.to_owned(),
        heartbeat: HeartbeatConfig::with_ttl(ttl),
        blocking_wait: Duration::from_secs(10),
        ..ConsulConfig::default()
    }
}

/// Starts an own dev agent, or None after a skip line (a failure when tests are required).
pub fn own_agent(test: &str, options: ConsulOptions) -> Option<ConsulAgent> {
    match ConsulAgent::start(options) {
        Ok(agent) => Some(agent),
        Err(error) if matchmaker_testkit::required() => {
            panic!("{test}: a consul agent is required but could not start: {error}")
        }
        Err(error) => {
            eprintln!("skipping {test}: no consul agent: {error}");
            None
        }
    }
}

/// Connects, panicking with the error (tests only).
pub async fn connect(config: ConsulConfig) -> ConsulMatchMaker {
    matchmaker_consul::connect(config.clone())
        .await
        .unwrap_or_else(|error| panic!("connect to {}: {error}", config.address))
}

/// Polls `probe` every 50 ms until it returns true or `bound` passes; true when it held.
pub async fn eventually<F, Fut>(bound: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    loop {
        if probe().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hosts a fanout lookup of `topic` returns, sorted.
pub async fn fanout_hosts(matchmaker: &ConsulMatchMaker, topic: &str) -> Vec<String> {
    use matchmaker_core::MatchMaker;
    let routes = matchmaker
        .queues(&format!("fanout~{topic}"))
        .await
        .unwrap_or_else(|error| panic!("lookup of {topic}: {error}"));
    let mut hosts: Vec<String> = routes.hosts().map(str::to_owned).collect();
    hosts.sort();
    hosts
}
