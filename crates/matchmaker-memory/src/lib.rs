//! The memory matchmaker: the embedded default heartbeat backend.
//!
//! A [`MemoryRegistry`] is one shared in-process registry; each matchmaker made by
//! [`connect`] is one "host" that registers topics into it, keeps them alive with heartbeats
//! and looks up the live hosts of everyone sharing the registry. Nothing leaves the process,
//! which makes it the backend for tests, examples and single-process deployments.
//!
//! - Registrations expire `ttl` after their last heartbeat, on tokio's clock: tests can pause
//!   time (`tokio::time::pause`) and advance it instead of sleeping.
//! - Expired registrations are purged lazily, on the next access to the registry; no
//!   background task is needed for lookups to be right.
//! - `MemoryMatchMaker::subscribe` (the backend's `subscribe` hook) streams a snapshot of the
//!   members, then joins and leaves. Leaves by expiry are delivered on time while a stream is
//!   being polled: each stream sleeps until the registry's earliest expiry and purges then. A
//!   subscriber that falls more than 4096 events behind gets a fresh snapshot (core's
//!   `MembershipHub`, the policy of every backend).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use matchmaker_core::{HeartbeatConfig, MatchMaker, Route};
//! use matchmaker_memory::{connect, MemoryRegistry};
//!
//! let registry = MemoryRegistry::new();
//! let config = HeartbeatConfig::with_ttl(Duration::from_secs(3));
//! let node1 = connect(&registry, config.clone()).unwrap();
//! let node2 = connect(&registry, config).unwrap();
//! node1.register("scheduler", "node1").await.unwrap();
//! assert_eq!(
//!     node2.queues("fanout~scheduler").await.unwrap(),
//!     vec![Route::new("fanout~scheduler.node1", "node1")]
//! );
//! # });
//! ```
#![deny(missing_docs)]

mod backend;
mod registry;
mod subscription;

pub use backend::{MemoryBackend, BACKEND_NAME};
pub use registry::MemoryRegistry;

use matchmaker_core::{HeartbeatConfig, HeartbeatMatchMaker, Result};

/// The URL scheme of this backend.
pub const SCHEME: &str = "memory";

/// A heartbeat matchmaker over the memory backend.
pub type MemoryMatchMaker = HeartbeatMatchMaker<MemoryBackend>;

/// A matchmaker (one "host") sharing `registry`, with `config`'s TTL, interval and strategy.
///
/// Fails with [`matchmaker_core::Error::InvalidConfig`] when `config` is invalid.
pub fn connect(registry: &MemoryRegistry, config: HeartbeatConfig) -> Result<MemoryMatchMaker> {
    let backend = MemoryBackend::new(registry, config.ttl)?;
    HeartbeatMatchMaker::new(backend, config)
}
