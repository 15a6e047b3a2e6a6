//! Feeds real RPC clients from the matchmaker: a topic's live hosts as a
//! [`tower::discover::Discover`] stream, so any tower balancer (and, with the `tonic` feature,
//! a tonic `Channel`) spreads calls over the hosts that serve the topic right now.
//!
//! - [`Discovery`]: `(registry, topic, make)` → `Change::Insert(host, make(&member))` /
//!   `Change::Remove(host)`, built from the membership stream (a snapshot, then changes); no
//!   spurious removals while the registry is unreachable.
//! - [`directed`]: the service of one named host, for a directed key `topic.host`, or `None`
//!   when that host does not serve the topic.
//! - [`tonic::balance_channel`] (feature `tonic`): a balanced tonic channel over a topic.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use matchmaker_core::{HeartbeatConfig, MatchMaker, Registry};
//! use matchmaker_tower::Discovery;
//! use tower::discover::Change;
//!
//! let registry = matchmaker_memory::MemoryRegistry::new();
//! let config = HeartbeatConfig::with_ttl(Duration::from_secs(10));
//! let worker = matchmaker_memory::connect(&registry, config.clone())?;
//! worker.register("echo", "127.0.0.1:7001").await?;
//!
//! let client: Arc<dyn Registry> = Arc::new(matchmaker_memory::connect(&registry, config)?);
//! let mut hosts = Discovery::new(client, "echo", |member| format!("http://{}", member.host))?;
//! // Already registered: inserted from the listing.
//! let Some(Ok(Change::Insert(host, url))) = hosts.next().await else { panic!() };
//! assert_eq!((host.as_str(), url.as_str()), ("127.0.0.1:7001", "http://127.0.0.1:7001"));
//! // Leaves: removed.
//! worker.unregister("echo", "127.0.0.1:7001").await?;
//! let Some(Ok(Change::Remove(host))) = hosts.next().await else { panic!() };
//! assert_eq!(host, "127.0.0.1:7001");
//! # Ok::<(), matchmaker_core::Error>(()) }).unwrap();
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod backoff;
mod directed;
mod discovery;
mod member;

#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod tonic;

pub use backoff::Backoff;
pub use directed::directed;
pub use discovery::Discovery;
pub use member::Member;
/// The change type [`Discovery`] yields, re-exported from tower.
pub use tower::discover::Change;
