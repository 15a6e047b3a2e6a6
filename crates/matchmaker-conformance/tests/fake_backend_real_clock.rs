//! The whole suite against the in-test fake registry on the real clock with the shortest TTL,
//! exercising the real-time paths (polling deadlines, multi-thread runtimes) that server
//! backends such as etcd and Consul take.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use matchmaker_core::heartbeat::MIN_TTL;
use support::FakeFactory;

fn main() -> ExitCode {
    let factory = FakeFactory::new(MIN_TTL.max(Duration::from_secs(1)), None);
    let capabilities = factory.capabilities(false);
    matchmaker_conformance::run("fake-real", factory, capabilities)
}
