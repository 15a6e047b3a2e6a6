//! The whole conformance suite against a real etcd (`MATCHMAKER_ETCD_ENDPOINTS`).
//!
//! Each trial's namespace becomes the prefix `/matchmaker-test/<namespace>/`; cleanup deletes
//! it. Without a shared etcd every trial is reported ignored, unless
//! `MATCHMAKER_TEST_REQUIRED=1`, which makes the run fail.

use std::process::ExitCode;
use std::sync::Arc;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{MatchMaker, Registry, Result};

mod support;

struct EtcdFactory {
    endpoints: Vec<String>,
}

fn prefix_of(namespace: &str) -> String {
    format!("/matchmaker-test/{namespace}/")
}

#[async_trait::async_trait]
impl Factory for EtcdFactory {
    async fn create(&self, namespace: &str) -> Result<Box<dyn MatchMaker>> {
        let config = support::config(&self.endpoints, &prefix_of(namespace));
        Ok(Box::new(matchmaker_etcd::connect(config).await?))
    }

    async fn create_registry(&self, namespace: &str) -> Option<Result<Box<dyn Registry>>> {
        let config = support::config(&self.endpoints, &prefix_of(namespace));
        Some(
            matchmaker_etcd::connect(config)
                .await
                .map(|matchmaker| Box::new(matchmaker) as Box<dyn Registry>),
        )
    }

    async fn cleanup(&self, namespace: &str) {
        support::delete_prefix(&self.endpoints, &prefix_of(namespace)).await;
    }
}

fn main() -> ExitCode {
    let capabilities = Capabilities {
        flavor: Flavor::Heartbeat,
        shared_registry: true,
        ttl: Some(support::TTL),
        paused_time: false,
    };
    let endpoints = support::shared_endpoints("etcd conformance");
    let unavailable = endpoints
        .is_none()
        .then(|| "MATCHMAKER_ETCD_ENDPOINTS is not set (run `cargo xtask test`)".to_owned());
    let factory = EtcdFactory {
        endpoints: endpoints.unwrap_or_default(),
    };
    matchmaker_conformance::run_or_ignore("etcd", Arc::new(factory), capabilities, unavailable)
}
