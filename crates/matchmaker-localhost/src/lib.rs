//! The localhost matchmaker: every bare topic and fanout resolves to one fixed host.
//!
//! The original `MatchMakerLocalhost`, useful for tests and single-host deployments:
//! `hello-world` -> `hello-world.localhost`, `fanout~t.x` -> `fanout~t.localhost`, and
//! directed keys go to their own host.
//!
//! ```
//! # tokio_test_block(async {
//! use matchmaker_core::{MatchMaker, Route};
//! let matchmaker = matchmaker_localhost::new("localhost").unwrap();
//! assert_eq!(
//!     matchmaker.queues("hello-world").await.unwrap(),
//!     vec![Route::new("hello-world.localhost", "localhost")]
//! );
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![deny(missing_docs)]

use matchmaker_core::{Result, StaticMatchMaker};

/// The URL scheme of this backend.
pub const SCHEME: &str = "localhost";

/// The host used when none is given, as in the original.
pub const DEFAULT_HOST: &str = "localhost";

/// A localhost matchmaker routing bare topics and fanouts to `host`.
///
/// Fails with `InvalidKey` when `host` is not a valid host name.
pub fn new(host: &str) -> Result<StaticMatchMaker> {
    StaticMatchMaker::localhost(host)
}
