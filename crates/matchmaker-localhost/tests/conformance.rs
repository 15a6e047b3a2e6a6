//! The conformance suite against the localhost backend with its default host.

use std::process::ExitCode;
use std::sync::Arc;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{MatchMaker, Result};

struct LocalhostFactory;

#[async_trait::async_trait]
impl Factory for LocalhostFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(matchmaker_localhost::new(
            matchmaker_localhost::DEFAULT_HOST,
        )?))
    }
}

fn main() -> ExitCode {
    let flavor = Flavor::Localhost {
        host: matchmaker_localhost::DEFAULT_HOST.to_owned(),
    };
    matchmaker_conformance::run(
        "localhost",
        Arc::new(LocalhostFactory),
        Capabilities::static_rules(flavor),
    )
}
