//! The shared behaviour suite against the real Consul agent of `MATCHMAKER_CONSUL_ADDR`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_consul::{ConsulBackend, ConsulConfig};
use matchmaker_core::{HeartbeatConfig, MatchMaker, Registry, Result};
use matchmaker_testkit::consul::ADDR_ENV;

/// 3 s rather than 2 s: a Consul 1.8 agent serialises check passes, and on a loaded two-core
/// CI machine a 0.67 s heartbeat interval left too little margin. Bounds stay relative to it.
const TTL: Duration = Duration::from_secs(3);

struct ConsulFactory {
    address: String,
}

impl ConsulFactory {
    fn config(&self, namespace: &str) -> ConsulConfig {
        ConsulConfig {
            address: self.address.clone(),
            namespace: namespace.to_owned(),
            heartbeat: HeartbeatConfig::with_ttl(TTL),
            blocking_wait: Duration::from_secs(10),
            ..ConsulConfig::default()
        }
    }
}

#[async_trait::async_trait]
impl Factory for ConsulFactory {
    async fn create(&self, namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(
            matchmaker_consul::connect(self.config(namespace)).await?,
        ))
    }

    async fn create_registry(&self, namespace: &str) -> Option<Result<Box<dyn Registry>>> {
        Some(
            matchmaker_consul::connect(self.config(namespace))
                .await
                .map(|matchmaker| Box::new(matchmaker) as Box<dyn Registry>),
        )
    }

    async fn cleanup(&self, namespace: &str) {
        if let Ok(backend) = ConsulBackend::new(&self.config(namespace)).await {
            if let Err(error) = backend.purge_namespace().await {
                eprintln!("cleanup of {namespace}: {error}");
            }
        }
    }
}

fn main() -> ExitCode {
    let capabilities = Capabilities {
        flavor: Flavor::Heartbeat,
        shared_registry: true,
        ttl: Some(TTL),
        paused_time: false,
    };
    let address = std::env::var(ADDR_ENV)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let unavailable = match &address {
        Some(_) => None,
        None if matchmaker_testkit::required() => {
            eprintln!("{ADDR_ENV} is not set but MATCHMAKER_TEST_REQUIRED=1: run through `cargo xtask test`");
            return ExitCode::FAILURE;
        }
        None => Some(format!(
            "{ADDR_ENV} is not set (run `cargo xtask test` to start a Consul agent)"
        )),
    };
    let factory = Arc::new(ConsulFactory {
        address: address.unwrap_or_default(),
    });
    matchmaker_conformance::run_or_ignore("consul", factory, capabilities, unavailable)
}
