//! The conformance suite against the memory backend, on a paused tokio clock.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{HeartbeatConfig, MatchMaker, Registry, Result};
use matchmaker_memory::{connect, MemoryRegistry};

const TTL: Duration = Duration::from_secs(3);

/// One registry per namespace: the same namespace shares a registry, others are isolated.
#[derive(Default)]
struct MemoryFactory {
    registries: Mutex<HashMap<String, MemoryRegistry>>,
}

impl MemoryFactory {
    fn registry(&self, namespace: &str) -> MemoryRegistry {
        let mut registries = self.registries.lock().unwrap();
        registries.entry(namespace.to_owned()).or_default().clone()
    }
}

#[async_trait::async_trait]
impl Factory for MemoryFactory {
    async fn create(&self, namespace: &str) -> Result<Box<dyn MatchMaker>> {
        let registry = self.registry(namespace);
        Ok(Box::new(connect(
            &registry,
            HeartbeatConfig::with_ttl(TTL),
        )?))
    }

    async fn create_registry(&self, namespace: &str) -> Option<Result<Box<dyn Registry>>> {
        let registry = self.registry(namespace);
        Some(
            connect(&registry, HeartbeatConfig::with_ttl(TTL))
                .map(|matchmaker| Box::new(matchmaker) as Box<dyn Registry>),
        )
    }

    async fn cleanup(&self, namespace: &str) {
        self.registries.lock().unwrap().remove(namespace);
    }
}

fn main() -> ExitCode {
    let capabilities = Capabilities {
        flavor: Flavor::Heartbeat,
        shared_registry: true,
        ttl: Some(TTL),
        paused_time: true,
    };
    matchmaker_conformance::run("memory", Arc::new(MemoryFactory::default()), capabilities)
}
