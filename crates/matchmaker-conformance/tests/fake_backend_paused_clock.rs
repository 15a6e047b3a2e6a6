//! The whole suite against the in-test fake registry on a paused tokio clock: TTL trials
//! finish instantly. This is how a third party's backend crate wires the suite.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use support::FakeFactory;

fn main() -> ExitCode {
    let factory = FakeFactory::new(Duration::from_secs(10), None);
    let capabilities = factory.capabilities(true);
    matchmaker_conformance::run("fake-paused", factory, capabilities)
}
