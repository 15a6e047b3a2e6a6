//! [`CacheStatus`]: how fresh a watching backend's lookup cache is; one type for all of them.

use std::time::Instant;

/// Whether lookups are served from an up-to-date cache, for dashboards and readiness probes
/// (what the etcd and Consul backends' `cache_status()` return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStatus {
    /// True while the watch feeding the cache is established (Consul: while the agent answers).
    pub connected: bool,
    /// Since when the cache may be stale (it serves its last known hosts), while it may be.
    pub stale_since: Option<Instant>,
    /// The registry's position the cache reflects: etcd's revision, Consul's `X-Consul-Index`
    /// (0 before the first answer).
    pub position: u64,
    /// How many topics the cache holds (Consul: the service names it follows).
    pub topics: usize,
}
