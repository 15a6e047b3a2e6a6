//! The conformance suite against the localhost backend with a custom host, `node-1`.

use std::process::ExitCode;
use std::sync::Arc;

use matchmaker_conformance::{Capabilities, Factory, Flavor};
use matchmaker_core::{MatchMaker, Result};

const HOST: &str = "node-1";

struct CustomHostFactory;

#[async_trait::async_trait]
impl Factory for CustomHostFactory {
    async fn create(&self, _namespace: &str) -> Result<Box<dyn MatchMaker>> {
        Ok(Box::new(matchmaker_localhost::new(HOST)?))
    }
}

fn main() -> ExitCode {
    let flavor = Flavor::Localhost {
        host: HOST.to_owned(),
    };
    matchmaker_conformance::run(
        "localhost-node-1",
        Arc::new(CustomHostFactory),
        Capabilities::static_rules(flavor),
    )
}
