//! The stub matchmaker: every key is returned untouched, with no host.
//!
//! The original `MatchMakerStub`, useful for tests and for brokered (AMQP-style) queues where
//! the broker knows the hosts.
//!
//! ```
//! # tokio_test_block(async {
//! use matchmaker_core::{MatchMaker, Route};
//! let matchmaker = matchmaker_stub::new();
//! assert_eq!(matchmaker.queues("a.b").await.unwrap(), vec![Route::hostless("a.b")]);
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![deny(missing_docs)]

use matchmaker_core::StaticMatchMaker;

/// The URL scheme of this backend.
pub const SCHEME: &str = "stub";

/// A stub matchmaker: fanout, directed and bare keys all come back as `[(key, None)]`.
pub fn new() -> StaticMatchMaker {
    StaticMatchMaker::stub()
}
