//! One constructor per backend, each compiled only with its feature.
//!
//! Every constant is `Some(constructor)` when the feature is on and `None` when it is off,
//! which is what [`crate::schemes`] reports to users.

use crate::schemes::ConnectFn;

#[cfg(feature = "consul")]
mod consul;
#[cfg(feature = "etcd")]
mod etcd;
#[cfg(any(feature = "localhost", feature = "stub", feature = "ring"))]
mod fixed;
#[cfg(feature = "memory")]
mod memory;

#[cfg(feature = "memory")]
pub(crate) const MEMORY: Option<ConnectFn> = Some(memory::connect);
#[cfg(not(feature = "memory"))]
pub(crate) const MEMORY: Option<ConnectFn> = None;

#[cfg(feature = "localhost")]
pub(crate) const LOCALHOST: Option<ConnectFn> = Some(fixed::connect_localhost);
#[cfg(not(feature = "localhost"))]
pub(crate) const LOCALHOST: Option<ConnectFn> = None;

#[cfg(feature = "stub")]
pub(crate) const STUB: Option<ConnectFn> = Some(fixed::connect_stub);
#[cfg(not(feature = "stub"))]
pub(crate) const STUB: Option<ConnectFn> = None;

#[cfg(feature = "ring")]
pub(crate) const RING: Option<ConnectFn> = Some(fixed::connect_ring);
#[cfg(not(feature = "ring"))]
pub(crate) const RING: Option<ConnectFn> = None;

#[cfg(feature = "etcd")]
pub(crate) const ETCD: Option<ConnectFn> = Some(etcd::connect);
#[cfg(not(feature = "etcd"))]
pub(crate) const ETCD: Option<ConnectFn> = None;

#[cfg(feature = "consul")]
pub(crate) const CONSUL: Option<ConnectFn> = Some(consul::connect);
#[cfg(not(feature = "consul"))]
pub(crate) const CONSUL: Option<ConnectFn> = None;

/// Rejects a `[backend]` table given for a backend that takes none.
#[allow(dead_code)] // unused when only table-taking backends are compiled in
fn reject_options(
    scheme: &str,
    target: &crate::schemes::Target<'_>,
) -> matchmaker_core::Result<()> {
    match target.options {
        Some(_) => Err(matchmaker_core::Error::InvalidConfig(format!(
            "{scheme}:// takes no [{scheme}] table; put its settings in the URL"
        ))),
        None => Ok(()),
    }
}
