//! The behaviour suite every matchmaker backend runs.
//!
//! One entry point turns a [`Factory`] of fresh, isolated matchmakers and the backend's
//! [`Capabilities`] into named [`Trial`]s, grouped by area:
//!
//! | area | what it checks |
//! |---|---|
//! | `binding::` | which keys the topic, direct and fanout bindings match |
//! | `exchange::` | stub, localhost and direct exchanges, the rule engine's upstream results, the backend's own rules |
//! | `heartbeat::` | registration, live lookups, the fixed upstream bugs, the heartbeat task; static backends keep nothing |
//! | `ttl::` | registrations that are not refreshed expire; heartbeating ones stay |
//! | `input::` | bad keys give `Error::InvalidKey` and change nothing; hostile but valid topics round-trip |
//! | `concurrency::` | many tasks at once end in exactly the state they built |
//!
//! Every bullet of the `# Behaviour` sections of `Binding`, `Exchange` and `MatchMaker` in
//! `matchmaker-core` has a trial whose name echoes it. A trial that does not apply to the
//! backend (say `ttl::` without a TTL) is reported as **ignored**, with the reason as its kind
//! (`[needs ttl]`), never as passed.
//!
//! Each trial runs on its own tokio runtime (a paused clock when [`Capabilities::paused_time`],
//! else two worker threads), in its own namespace `<backend>-<area>-<behaviour>-<random hex>`,
//! calls [`Factory::cleanup`] at the end (also after a failure or a panic), and fails instead
//! of hanging after [`TRIAL_TIME_LIMIT`]. Trials run in parallel, so they can share one server.
//!
//! # Using it from a backend crate
//!
//! Add the suite as a dev-dependency and a test target without the default harness:
//!
//! ```toml
//! [dev-dependencies]
//! matchmaker-conformance = "0.1"
//! async-trait = "0.1"
//!
//! [[test]]
//! name = "conformance"
//! harness = false
//! ```
//!
//! Then `tests/conformance.rs` implements [`Factory`] and hands it to [`run`]:
//!
//! ```no_run
//! use std::process::ExitCode;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use matchmaker_conformance::{Capabilities, Factory, Flavor};
//! use matchmaker_core::{HeartbeatConfig, MatchMaker, Result};
//!
//! struct MyBackendFactory;
//!
//! #[async_trait::async_trait]
//! impl Factory for MyBackendFactory {
//!     async fn create(&self, namespace: &str) -> Result<Box<dyn MatchMaker>> {
//!         // Connect with every key under `namespace`, configured with the TTL below.
//!         let config = HeartbeatConfig::with_ttl(Duration::from_secs(2));
//!         # let _ = (namespace, config);
//!         # let my_backend_connect = || Ok(matchmaker_core::StaticMatchMaker::stub());
//!         Ok(Box::new(my_backend_connect()?))
//!     }
//!
//!     async fn cleanup(&self, namespace: &str) {
//!         // Best effort: delete everything under `namespace`.
//!         # let _ = namespace;
//!     }
//! }
//!
//! fn main() -> ExitCode {
//!     let capabilities = Capabilities {
//!         flavor: Flavor::Heartbeat,
//!         shared_registry: true,
//!         ttl: Some(Duration::from_secs(2)),
//!         paused_time: false,
//!     };
//!     matchmaker_conformance::run("my-backend", Arc::new(MyBackendFactory), capabilities)
//! }
//! ```
//!
//! `cargo test --test conformance` runs it; the usual libtest flags work (a name filter,
//! `--exact`, `--list`, `--test-threads`, `--ignored`).
//!
//! - A backend whose server may be missing passes the reason to [`run_or_ignore`]: every
//!   trial is then reported ignored with it instead of failing.
//! - A backend's own extra trials join the same run with [`run_with`]; build them with
//!   [`trial`] to get the same runtime, namespace, time limit and cleanup.
//! - [`Suite`] combines both, and [`trials`] returns the list for a custom `main`.
#![deny(missing_docs)]

mod areas;
mod capabilities;
mod check;
mod factory;
mod harness;
mod suite;

pub use capabilities::{Capabilities, Flavor};
pub use factory::Factory;
pub use harness::{trial, Context, TRIAL_TIME_LIMIT};
pub use libtest_mimic::{Failed, Trial};
pub use suite::{run, run_or_ignore, run_with, trials, Suite};
