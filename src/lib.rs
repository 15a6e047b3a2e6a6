//! matchmaker: which hosts serve this topic right now?
//!
//! Topic-to-host discovery for brokerless RPC, after the OpenStack ZeroMQ matchmaker. This
//! facade re-exports the core contract and, behind one feature each, the backends.
//!
//! Pick a backend by URL with [`connect`] (or from a TOML file with [`from_config_file`], or
//! from `MATCHMAKER_URL` with [`from_env`]); the result is a [`Registry`]: the [`MatchMaker`]
//! contract plus listing and watching where the backend supports them.
//!
//! ```
//! # #[cfg(feature = "memory")] // the default; the example needs it
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use matchmaker::MatchMaker;
//! let node1 = matchmaker::connect("memory://docs").await.unwrap();
//! node1.register("scheduler", "node1").await.unwrap();
//! let client = matchmaker::connect("memory://docs").await.unwrap();
//! let routes = client.queues("fanout~scheduler").await.unwrap();
//! assert_eq!(routes[0].host.as_deref(), Some("node1"));
//! # });
//! ```
//!
//! URL schemes and the feature each needs are listed by [`schemes::schemes`]; an unknown
//! scheme, or one whose feature is off, is an [`Error::InvalidConfig`] saying what to do.
//!
//! # Features
//! Every feature is additive: enable any combination.
//!
//! | feature | default | enables | URL scheme | build needs |
//! |---|---|---|---|---|
//! | `localhost` | yes | `matchmaker::localhost`: the original `MatchMakerLocalhost`, every topic on one host | `localhost://[host]` | nothing |
//! | `stub` | yes | `matchmaker::stub`: the original `MatchMakerStub`, keys returned untouched | `stub://` | nothing |
//! | `memory` | yes | `matchmaker::memory`: an in-process registry with TTL expiry, for one process or tests | `memory://[name]` | nothing |
//! | `ring` | no | `matchmaker::ring`: a static topic-to-hosts file, the original `MatchMakerRing` | `ring:///path/ring.json` | nothing |
//! | `etcd` | no | `matchmaker::etcd`: one lease per process, watch-fed lookup cache | `etcd://host:port[,host:port...]` (TLS by query options) | `protoc` with its well-known-type includes at build time (`PROTOC`/`PROTOC_INCLUDE`, or PATH; `cargo xtask test` provides one) |
//! | `consul` | no | `matchmaker::consul`: agent services, one TTL check per process, one blocking query | `consul://host:port`, `consuls://host:port` | nothing |
//! | `tower` | no | `matchmaker::tower`: a topic's live hosts as a `tower::discover::Discover` stream, directed keys as one host's service | none (any registry) | nothing |
//! | `tonic` | no | `tower` plus `matchmaker::tower::tonic::balance_channel`: a tonic `Channel` balanced over a topic's live hosts | none (any registry) | nothing (tonic's client is already in the tree with `etcd`) |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub use matchmaker_core::*;

/// The Consul TTL-check backend (feature `consul`).
#[cfg(feature = "consul")]
#[cfg_attr(docsrs, doc(cfg(feature = "consul")))]
pub use matchmaker_consul as consul;
/// The etcd lease backend (feature `etcd`).
#[cfg(feature = "etcd")]
#[cfg_attr(docsrs, doc(cfg(feature = "etcd")))]
pub use matchmaker_etcd as etcd;
/// The localhost backend (feature `localhost`).
#[cfg(feature = "localhost")]
#[cfg_attr(docsrs, doc(cfg(feature = "localhost")))]
pub use matchmaker_localhost as localhost;
/// The in-process heartbeat backend (feature `memory`).
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub use matchmaker_memory as memory;
/// The static ring-file backend (feature `ring`).
#[cfg(feature = "ring")]
#[cfg_attr(docsrs, doc(cfg(feature = "ring")))]
pub use matchmaker_ring as ring;
/// The stub backend (feature `stub`).
#[cfg(feature = "stub")]
#[cfg_attr(docsrs, doc(cfg(feature = "stub")))]
pub use matchmaker_stub as stub;
/// Feeding RPC clients: a topic's live hosts as a `tower::discover` stream, and with the
/// `tonic` feature a balanced tonic channel (feature `tower`).
///
/// The README's example (`tests/tonic_balance.rs` checks that the two stay equal):
/// ```
/// use std::sync::Arc;
/// use futures_util::StreamExt;
/// use matchmaker::tower::{directed, Change, Discovery, Member};
///
/// async fn follow() -> matchmaker::Result<()> {
///     let registry: Arc<dyn matchmaker::Registry> =
///         Arc::from(matchmaker::connect("etcd://127.0.0.1:2379").await?);
///     // Workers register their `ip:port` as their host for `echo`; `make` turns each live host
///     // into a service (here its URL; in real use a tower Service or a tonic Endpoint).
///     let make = |member: &Member| format!("http://{}", member.host);
///     let mut hosts = Discovery::new(registry.clone(), "echo", make)?;
///     // `hosts` feeds any tower balancer (`tower::balance::p2c::Balance::new(hosts)`), or:
///     while let Some(change) = hosts.next().await {
///         match change? {
///             Change::Insert(host, url) => println!("+ {host} at {url}"),
///             Change::Remove(host) => println!("- {host}"),
///         }
///     }
///     // Directed keys keep working: one named host's service, None if it is not registered.
///     let one = directed(registry.as_ref(), "echo.10.0.0.7:50051", make).await?;
///     Ok(())
/// }
/// ```
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub use matchmaker_tower as tower;

mod backends;
mod config;
mod connect;
mod registry;
pub mod schemes;

pub use config::{ConnectConfig, ENV_INTERVAL, ENV_STRATEGY, ENV_TTL, ENV_URL};
pub use connect::{connect, connect_with, from_config_file, from_env};
pub use matchmaker_core::Registry;
pub use registry::NamedStaticMatchMaker;
pub use schemes::Scheme;

/// The README's Rust examples, compiled as doc tests so they cannot drift from the API.
#[cfg(all(doctest, feature = "memory"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
