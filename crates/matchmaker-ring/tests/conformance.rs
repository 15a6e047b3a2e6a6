//! The conformance suite against the ring backend (static rules of its own kind).

use std::process::ExitCode;
use std::sync::Arc;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{MatchMaker, Result};
use matchmaker_ring::Ring;

/// A small ring; each trial gets a fresh matchmaker (its own round-robin turns).
struct RingFactory;

#[async_trait::async_trait]
impl Factory for RingFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        let ring = Ring::from_json(r#"{"scheduler": ["controller1", "node1"], "empty": []}"#)?;
        Ok(Box::new(matchmaker_ring::new(ring)))
    }
}

fn main() -> ExitCode {
    let capabilities = Capabilities::static_rules(Flavor::OtherStatic);
    matchmaker_conformance::run("ring", Arc::new(RingFactory), capabilities)
}
