//! Core of the matchmaker: which hosts serve this topic right now?
//!
//! This crate holds the contract every backend implements and the pieces they share:
//!
//! - [`Binding`]: does a rule match a key?
//! - [`Exchange`]: turn a key into [`Route`]s (`(queue, host)` pairs).
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
#![deny(missing_docs)]

mod binding;
mod error;
mod exchange;
pub mod heartbeat;
pub mod key;
mod matchmaker;
mod membership;
mod route;
mod rules;
mod static_matchmaker;
pub mod telemetry;

pub use binding::{Binding, DirectBinding, FanoutBinding, TopicBinding};
pub use error::{BoxError, Error, InvalidKeyReason, Result};
pub use exchange::{DirectExchange, Exchange, LocalhostExchange, StubExchange};
pub use heartbeat::{
    HeartbeatBackend, HeartbeatConfig, HeartbeatMatchMaker, HostDirectory, Registration,
    RegistrationInfo, Strategy,
};
pub use matchmaker::{MatchMaker, MatchMakerExt};
pub use membership::{MembershipEvent, MembershipStream};
pub use route::Route;
pub use rules::Rules;
pub use static_matchmaker::StaticMatchMaker;
