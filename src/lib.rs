//! matchmaker: which hosts serve this topic right now?
//!
//! Topic-to-host discovery for brokerless RPC, after the OpenStack ZeroMQ matchmaker. This
//! facade re-exports the core contract and, behind one feature each, the backends.
#![deny(missing_docs)]

pub use matchmaker_core::*;

/// The Consul TTL-check backend (feature `consul`).
#[cfg(feature = "consul")]
pub use matchmaker_consul as consul;
/// The etcd lease backend (feature `etcd`).
#[cfg(feature = "etcd")]
pub use matchmaker_etcd as etcd;
/// The localhost backend (feature `localhost`).
#[cfg(feature = "localhost")]
pub use matchmaker_localhost as localhost;
/// The in-process heartbeat backend (feature `memory`).
#[cfg(feature = "memory")]
pub use matchmaker_memory as memory;
/// The static ring-file backend (feature `ring`).
#[cfg(feature = "ring")]
pub use matchmaker_ring as ring;
/// The stub backend (feature `stub`).
#[cfg(feature = "stub")]
pub use matchmaker_stub as stub;

mod backends;
mod config;
mod connect;
mod registry;
pub mod schemes;

pub use config::{ConnectConfig, ENV_INTERVAL, ENV_STRATEGY, ENV_TTL, ENV_URL};
pub use connect::{connect, connect_with, from_config_file, from_env};
pub use registry::{NamedStaticMatchMaker, Registry};
pub use schemes::Scheme;
