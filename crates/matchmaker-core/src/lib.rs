//! Core of the matchmaker: which hosts serve this topic right now?
//!
//! This crate holds the contract every backend implements and the pieces they share:
//!
//! - [`Binding`]: does a rule match a key?
//! - [`Exchange`]: turn a key into [`Routes`]: `(queue, host)` pairs ([`Route`]).
//! - [`MatchMaker`]: an ordered list of rules plus registration and heartbeats.
//! - [`StaticMatchMaker`]: rules only, no registry (localhost, stub, ring).
//! - [`HeartbeatMatchMaker`]: the reusable heartbeat machinery that registry backends plug
//!   into by implementing [`HeartbeatBackend`].
//! - [`key`]: the key grammar and the validation every backend runs before touching anything.
//! - [`Error`]: the one public error type.
//!
//! Keys follow the original OpenStack ZeroMQ matchmaker: a bare topic has no `.`, a directed
//! key is `topic.host` (host = everything after the first `.`), a fanout key starts with
//! `fanout~`.
//!
//! ```
//! use matchmaker_core::{MatchMaker, Route, StaticMatchMaker};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // The original MatchMakerLocalhost: every topic is served by this host.
//! let matchmaker = StaticMatchMaker::localhost("node1")?;
//! // A bare topic goes to the local host ...
//! assert_eq!(matchmaker.queues("scheduler").await?, [Route::new("scheduler.node1", "node1")]);
//! // ... a directed key to the host it names ...
//! assert_eq!(matchmaker.queues("scheduler.node7").await?, [Route::new("scheduler.node7", "node7")]);
//! // ... and a fanout key to every host of the topic (here the one local host).
//! assert_eq!(matchmaker.queues("fanout~scheduler").await?, [Route::new("fanout~scheduler.node1", "node1")]);
//! // Bad input is a typed error, never a panic.
//! assert!(matchmaker.queues("").await.is_err());
//! # Ok::<(), matchmaker_core::Error>(()) }).unwrap();
//! ```
//!
//! A registry backend implements [`HeartbeatBackend`] (see its docs for a complete in-memory
//! example) and gets registration, heartbeats, expiry and lookups from [`HeartbeatMatchMaker`].
#![deny(missing_docs)]

mod binding;
mod cache_status;
mod display_spoofing;
mod error;
pub mod escape;
mod exchange;
pub mod heartbeat;
pub mod key;
mod matchmaker;
mod membership;
mod registry;
mod route;
mod routes;
mod rules;
mod static_matchmaker;
pub mod telemetry;

pub use binding::{Binding, DirectBinding, FanoutBinding, TopicBinding};
pub use cache_status::CacheStatus;
pub use error::{io_error_text, BoxError, Cause, Error, InvalidKeyReason, Result};
pub use exchange::{DirectExchange, Exchange, LocalhostExchange, StubExchange};
pub use heartbeat::{
    HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, Metadata, Registration,
    RegistrationInfo, Strategy,
};
pub use matchmaker::{MatchMaker, MatchMakerExt};
pub use membership::{
    membership_changes, MembershipEvent, MembershipHub, MembershipSnapshot, MembershipStream,
    MembershipTable, SUBSCRIBER_BUFFER,
};
pub use registry::Registry;
pub use route::Route;
pub use routes::Routes;
pub use rules::Rules;
pub use static_matchmaker::StaticMatchMaker;
