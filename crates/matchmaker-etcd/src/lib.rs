//! The etcd backend of the matchmaker: one lease per process, lookups from a watch-fed cache,
//! automatic re-registration.
//!
//! ```no_run
//! use matchmaker_core::MatchMaker;
//! use matchmaker_etcd::EtcdConfig;
//!
//! # async fn run() -> matchmaker_core::Result<()> {
//! let config = EtcdConfig::from_url("etcd://127.0.0.1:2379/matchmaker?ttl=10")?;
//! let matchmaker = matchmaker_etcd::connect(config).await?;
//! matchmaker.register("scheduler", "node-1").await?;
//! matchmaker.start_heartbeat()?; // one lease keep-alive every ttl/3
//! let routes = matchmaker.queues("fanout~scheduler").await?; // read from the local cache
//! println!("{routes:?}");
//! # Ok(()) }
//! ```
//!
//! # How it uses etcd
//! - **Keys**: `<prefix><enc(topic)>/<enc(host)>` where `enc` percent-encodes every byte
//!   outside `[A-Za-z0-9._~-]` (see [`naming`]). A topic or host can never escape the prefix or
//!   collide with another pair: `/`, `%`, spaces, control characters and non-ASCII are all
//!   encoded, and `%2F` becomes `%252F`. The value is small JSON:
//!   `{"topic", "host", "instance", "registered_at_ms", "metadata"?}`.
//! - **Heartbeat = lease**: the first registration grants ONE lease (TTL from the config,
//!   default 10 s, at least 2 s, etcd's floor) and every key is attached to it; a matchmaker that
//!   only looks up (a one-shot `matchmaker queues`, say) never grants one. A heartbeat is one keep-alive on a
//!   long-lived stream, whatever the number of registrations. Bulk re-registration goes in
//!   transactions of at most 128 operations (etcd's default `--max-txn-ops`).
//! - **Lookups never touch the network**: the prefix is listed once, then one watch from the
//!   next revision feeds an in-memory cache that `queues`, `is_alive` and `list` read. This
//!   process's own writes update the cache at once.
//!
//! # Failures
//! - **Failure detection**: a process that dies (or stops heartbeating) disappears from every
//!   cache TTL + up to about 0.5 s after its last keep-alive in steady state (etcd checks
//!   expiry every 500 ms, then the delete reaches the watchers in about a millisecond).
//!   A leader change, or a restart of a single-node etcd, restarts every lease's countdown:
//!   "TTL is the minimum time a lease lives", so detection can take up to TTL + an election
//!   timeout longer then.
//! - **Lost lease** (expired during a long pause, revoked from outside, etcd restarted
//!   without its data): the next heartbeat or write notices and grants a new lease; the
//!   heartbeat reports every registration lost and the matchmaker re-puts them in bulk, with
//!   one warning (`matchmaker_reregistrations_total` counts them).
//! - **Key deleted from outside**: the next heartbeat reports it lost and the matchmaker
//!   re-creates it; the cache says which keys are missing, so a steady-state heartbeat sends
//!   nothing but the keep-alive.
//! - **etcd unreachable or restarted**: the watch is re-established with a backoff of 100 ms
//!   doubling to 5 s (jittered), by re-listing the prefix and watching from there; a cancelled
//!   (compacted) watch is handled the same way. Meanwhile lookups are served from the last
//!   known state: never emptied because of an error, while a genuine "last host left" (delete
//!   events, or an empty successful re-list) is delivered. Staleness is visible through
//!   [`EtcdBackend::cache_status`] and one `warn` event per outage.
//!
//! # Security
//! TLS (CA, client certificate and key) through [`EtcdTls`] with rustls, and user/password
//! authentication (tokens are refreshed automatically). A refused password or certificate is
//! [`matchmaker_core::Error::Unauthorized`]. `Debug` output redacts the password.
//!
//! # Building
//! `etcd-client` compiles etcd's protobuf definitions, so building this crate needs `protoc`
//! (Debian/Ubuntu: `apt-get install protobuf-compiler`; or point `PROTOC` at a binary). CI
//! installs it in `.ci/run`. We chose that over vendoring generated code: the generated code
//! would have to track etcd-client's exact version by hand.
//!
//! # Background tasks and cancellation
//! The watch task runs on the runtime that called [`connect`] and is aborted when the
//! [`EtcdBackend`] is dropped; the keep-alive stream is closed with it. Keys stay in etcd
//! until the lease expires (or call [`EtcdBackend::revoke_lease`] first). Dropping a
//! heartbeat or lookup future midway is safe: a half-used keep-alive stream is discarded and
//! re-opened by the next heartbeat.
#![deny(missing_docs)]

mod backend;
mod cache;
mod config;
mod connection;
mod errors;
mod hooks;
mod instance_names;
mod lease;
mod listing;
mod members;
pub mod naming;
pub mod paging;
mod retry;
#[cfg(test)]
mod test_etcd;
mod url;
mod watcher;
mod wire;
mod writes;

pub use backend::EtcdBackend;
pub use config::{EtcdConfig, EtcdTls, DEFAULT_ENDPOINT, DEFAULT_PREFIX, MIN_ETCD_TTL};
pub use matchmaker_core::CacheStatus;
pub use url::SCHEME;

use matchmaker_core::{HeartbeatMatchMaker, Result};

/// A matchmaker whose registrations live in etcd.
pub type EtcdMatchMaker = HeartbeatMatchMaker<EtcdBackend>;

/// Connects to etcd with `config` and wraps the backend in a matchmaker.
///
/// Must be called within a tokio runtime (the watch task is spawned on it).
pub async fn connect(config: EtcdConfig) -> Result<EtcdMatchMaker> {
    let backend = EtcdBackend::connect(&config).await?;
    HeartbeatMatchMaker::new(backend, config.heartbeat)
}
