//! The heartbeat machinery: a reusable matchmaker that registry backends plug into.
//!
//! A backend implements [`HeartbeatBackend`] (the original's `backend_register` (in bulk),
//! `backend_unregister`, `ack_alive`, `is_alive` and `expire` hooks, plus `live_topic` for
//! lookups) and wraps itself in a [`HeartbeatMatchMaker`], which keeps the set of this
//! process's registrations, batches concurrent registers, runs the heartbeat task, restores
//! what a beat reports lost ([`Beat`]) and answers lookups:
//!
//! - bare topic `t`: ONE live host `h`, chosen by the configured [`Strategy`], as `t.h`;
//! - fanout `fanout~t`: ALL live hosts in a stable order, as `fanout~t.h`;
//! - directed `t.h`: the key itself, on host `h`.
//!
//! # Differences from the original Redis matchmaker
//! - Fanout queue names keep the `fanout~` prefix (`fanout~t.h`); the Redis matchmaker
//!   dropped it and returned `t.h`. Every backend here names queues the same way.
//! - Registrations carry topic and host separately ([`Registration`]), so a dotted topic
//!   (`l3_agent.node1`) can be registered (upstream bug 1290772).
//! - Heartbeats work on a snapshot of the registrations (upstream bug 1432966).
//! - Unregistering `(k1, h)` does not forget host `h` while `(k2, h)` is registered.
//! - `ack_alive` of a pair whose record vanished re-creates it (upstream bug 1419718).

mod backend;
mod config;
pub mod duration_text;
mod exchanges;
mod live_topic;
mod matchmaker;
pub mod metadata;
mod register_batches;
mod registration_set;
mod to_completion;

pub use backend::{
    ack_each, Beat, HeartbeatBackend, HostDirectory, Registration, RegistrationInfo,
};
pub use config::{HeartbeatConfig, Strategy, DEFAULT_TTL, MIN_TTL};
pub use exchanges::{LiveFanoutExchange, LiveTopicExchange};
pub use live_topic::{LiveTopic, LiveTopics};
pub use matchmaker::HeartbeatMatchMaker;
pub use metadata::{validate_metadata, Metadata};
