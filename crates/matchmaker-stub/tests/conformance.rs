//! The conformance suite against the stub backend.

use std::process::ExitCode;
use std::sync::Arc;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{MatchMaker, Result};

struct StubFactory;

#[async_trait::async_trait]
impl Factory for StubFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(matchmaker_stub::new()))
    }
}

fn main() -> ExitCode {
    matchmaker_conformance::run(
        "stub",
        Arc::new(StubFactory),
        Capabilities::static_rules(Flavor::Stub),
    )
}
