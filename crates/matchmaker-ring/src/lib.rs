//! The ring matchmaker: the original `MatchMakerRing`, a static topology read from JSON.
//!
//! A ring maps each bare topic to an ordered host list:
//!
//! ```json
//! {"scheduler": ["controller1", "node1", "node2"], "conductor": ["controller1"]}
//! ```
//!
//! Lookups, tried in this order:
//! - fanout `fanout~scheduler`: every host in file order (a host listed twice once), as
//!   `fanout~scheduler.controller1`, `fanout~scheduler.node1`, ...;
//! - directed `scheduler.node1`: the key itself, on host `node1` (the ring is not consulted);
//! - bare `scheduler`: one host, round-robin per topic starting at the first:
//!   `scheduler.controller1`, then `scheduler.node1`, `scheduler.node2`, then `controller1`
//!   again.
//!
//! An unknown topic or an empty host list gives an empty result and a tracing warning; the
//! original raised `StopIteration` on an empty list. Registration and heartbeat calls
//! validate their input and keep nothing, as in the original: the ring is the registry.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use matchmaker_core::{MatchMaker, Route};
//! use matchmaker_ring::Ring;
//!
//! let ring = Ring::from_json(r#"{"scheduler": ["controller1", "node1"]}"#).unwrap();
//! let matchmaker = matchmaker_ring::new(ring);
//! let first = matchmaker.queues("scheduler").await.unwrap();
//! assert_eq!(first, vec![Route::new("scheduler.controller1", "controller1")]);
//! # });
//! ```
#![deny(missing_docs)]

mod exchanges;
mod ring;

use std::path::Path;
use std::sync::Arc;

use matchmaker_core::{
    DirectBinding, DirectExchange, FanoutBinding, MatchMaker, Result, StaticMatchMaker,
    TopicBinding,
};

pub use exchanges::{FanoutRingExchange, RoundRobinRingExchange};
pub use ring::Ring;

/// The URL scheme of this backend (`ring:///path/to/ring.json`).
pub const SCHEME: &str = "ring";

/// A matchmaker answering from `ring`: fanout -> [`FanoutRingExchange`], directed ->
/// [`DirectExchange`], bare topic -> [`RoundRobinRingExchange`].
pub fn new(ring: Ring) -> StaticMatchMaker {
    let ring = Arc::new(ring);
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_binding(
        Arc::new(FanoutBinding),
        Arc::new(FanoutRingExchange::new(ring.clone())),
        true,
    );
    matchmaker.add_binding(Arc::new(DirectBinding), Arc::new(DirectExchange), true);
    matchmaker.add_binding(
        Arc::new(TopicBinding),
        Arc::new(RoundRobinRingExchange::new(ring)),
        true,
    );
    matchmaker
}

/// A matchmaker answering from the ring file at `path`; see [`Ring::from_file`] for errors.
pub fn from_file(path: impl AsRef<Path>) -> Result<StaticMatchMaker> {
    Ring::from_file(path).map(new)
}
