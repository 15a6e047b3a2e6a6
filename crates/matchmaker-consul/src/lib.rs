//! Consul backend of the matchmaker: which hosts serve this topic right now, from Consul.
//!
//! ```no_run
//! use matchmaker_consul::{connect, ConsulConfig};
//! use matchmaker_core::MatchMaker;
//!
//! # async fn demo() -> matchmaker_core::Result<()> {
//! let matchmaker = connect(ConsulConfig::from_url("consul://127.0.0.1:8500/prod?ttl=10s")?).await?;
//! matchmaker.register("scheduler", "node1").await?;
//! matchmaker.start_heartbeat()?;
//! let routes = matchmaker.queues("fanout~scheduler").await?; // [("fanout~scheduler.node1", node1)]
//! # let _ = routes; Ok(()) }
//! ```
//!
//! # How registrations map onto Consul
//! - Each `(topic, host)` is an agent service on the local agent: name derived from the topic
//!   (see [`naming`]: `mm-<namespace>--<topic>` encoded into `[a-z0-9-]`, or a hashed name
//!   when longer than 63 characters), ID unique per `(namespace, topic, host)`, tag
//!   `mm-ns=<namespace>`, `Address` = host, and `Meta` keeping the exact namespace, topic,
//!   host and instance id. The ID ends in the encoded host, which lookups read back.
//! - **One heartbeat request per process**: each backend registers one instance service
//!   (`matchmaker-instance`) with the only TTL check; every registration's check is an alias
//!   check (`AliasService`, Consul >= 1.2) of it. A heartbeat is one
//!   `PUT /v1/agent/check/pass/<id>` every TTL/3, whatever the number of registrations; every
//!   fifth beat adds one `GET /v1/agent/services?filter=Meta.mm_instance==<id>` to find
//!   registrations someone else removed, which the matchmaker then re-creates. Measured on Consul 1.8.7: when heartbeats stop, the
//!   registrations leave `?passing` answers at TTL expiry, within milliseconds of the TTL
//!   check itself (`tests/heartbeat_stop.rs`). Caveat: alias checks are local-agent state, so
//!   every registration of a backend lives on the agent it talks to (as with any agent
//!   service).
//! - **Agent restart**: a `-dev` agent forgets API-registered services; the next check pass
//!   fails ("does not have associated TTL"), the heartbeat reports every registration lost,
//!   and the matchmaker re-registers them in bulk (the instance service first), logs once at
//!   warn and counts `matchmaker_reregistrations_total`.
//!
//! # Timing
//! - **Detection time**: a process that stops heartbeating leaves lookups about TTL + 1 s
//!   after its last heartbeat (TTL expiry, then the blocking query wakes in milliseconds).
//! - **Deregistration delay**: a dead process's services stay in the *catalog* (as critical,
//!   hidden from lookups) for `deregister_critical_after` (Consul's minimum is one minute)
//!   plus up to 30 s, the agent's reaper period. `list` shows them with `alive: false`.
//!
//! # Lookups
//! One blocking query per backend, whatever the number of topics: `health/state/any` filtered on
//! the namespace tag (plus node checks), from which every topic cache takes its passing hosts
//! (decoded from the service IDs). It starts with the first lookup or subscription; a first
//! lookup waits (bounded by the request timeout) for its first answer. It is rate-limited
//! (`min_query_interval`), restarts from index 0 when the index goes backwards or after an error,
//! and keeps serving the last known hosts when Consul is unreachable
//! ([`CacheStatus::stale_since`] shows it): an error never empties a list, while a successful
//! answer with no hosts does. A topic first looked up while the watch fails gets
//! `Error::Unavailable`. This process's own `register`, `unregister` and `expire` show in its
//! lookups as soon as they return.
//!
//! # Connections
//! A backend holds at most [`MAX_AGENT_CONNECTIONS`] (7) connections to its agent: the watch (1),
//! direct lookups (2) and writes (4, registrations and heartbeats, which so never wait behind
//! watches). A request whose connection the agent closed is retried once on a fresh one; an agent
//! that keeps closing them (its `limits.http_max_conns_per_client`, shared by every process of a
//! host) is reported once at warn with that setting's name.
//!
//! - `is_alive` asks Consul directly (`health/service/<name>?passing`), not the cache.
//! - `expire` removes the service through the local agent when that agent owns it, otherwise
//!   through `PUT /v1/catalog/deregister` (the owning agent may re-sync it). As in the
//!   original, a registration its process still holds comes back with that process's next
//!   heartbeat (at once when expired in the same process, within five beats otherwise);
//!   only `unregister` by the owner removes it for good.
//! - `subscribe(Some(topic))` streams the topic's membership as the watch sees it: a snapshot
//!   once the watch has answered, then joins and leaves; `subscribe(None)` does so for every
//!   topic of the namespace, including new ones (a topic whose hashed name is still being
//!   resolved when the snapshot is read reports its hosts as joins). Quick changes between two
//!   answers are coalesced.
//!
//! # ACL and TLS
//! The token (`?token=`, [`ConsulConfig::token`] or `CONSUL_HTTP_TOKEN`) is sent as
//! `X-Consul-Token`; a refusal is `Error::Unauthorized` saying how to set one. HTTPS uses
//! rustls (`consuls://`, or `?tls=1`, with `ca`, `cert`, `key` PEM files).
//!
//! # Why not the `consul` or `rs-consul` crates
//! Neither can make the two calls this backend lives on. `consul` 0.4 (unmaintained since
//! 2021) is blocking-only, panics when created inside a tokio runtime, has no agent service
//! registration and no check pass, and its catalog register hits the wrong endpoint.
//! `rs-consul` 0.15 has no agent endpoints and its default 5 s client timeout cuts blocking
//! queries short. This crate makes a handful of typed calls over `reqwest` (rustls, sharing
//! hyper 1 and rustls 0.23 with the etcd backend) instead.
#![deny(missing_docs)]

mod backend;
mod cache;
mod client;
mod config;
mod errors;
mod hooks;
mod namespace_view;
pub mod naming;
mod registry;
mod subscription;
mod url;
mod watcher;
mod wire;

pub use crate::url::URL_SCHEMES;
pub use backend::ConsulBackend;
pub use client::MAX_AGENT_CONNECTIONS;
pub use config::{
    ConsulConfig, Scheme, TlsConfig, MAX_BLOCKING_WAIT, MIN_DEREGISTER_CRITICAL_AFTER, TOKEN_ENV,
};
pub use matchmaker_core::CacheStatus;

use matchmaker_core::{HeartbeatMatchMaker, Result};

/// A heartbeat matchmaker over Consul.
pub type ConsulMatchMaker = HeartbeatMatchMaker<ConsulBackend>;

/// Connects to the agent and builds a matchmaker; the heartbeat starts with `start_heartbeat`.
pub async fn connect(config: ConsulConfig) -> Result<ConsulMatchMaker> {
    let backend = ConsulBackend::new(&config).await?;
    HeartbeatMatchMaker::new(backend, config.heartbeat)
}

/// [`connect`] from a `consul://` URL.
pub async fn connect_url(url: &str) -> Result<ConsulMatchMaker> {
    connect(ConsulConfig::from_url(url)?).await
}
