//! Counter names every backend reports through the [`metrics`] facade.
//!
//! Nothing is recorded unless the application installs a `metrics` recorder (for example
//! `metrics-exporter-prometheus`, or [`Counters::global`]); without one each call is a no-op. Every counter carries a
//! `backend` label (`memory`, `etcd`, `consul`).
//!
//! Lookups and cache hits, counted on every `queues`, go through handles ([`counter_of`]) a
//! matchmaker and its backend take when they are created, so a lookup pays one atomic add and
//! no allocation: install the recorder before connecting, as `metrics` asks.
//!
//! | counter | counted when |
//! |---|---|
//! | `matchmaker_heartbeats_sent_total` | a heartbeat round was sent |
//! | `matchmaker_reregistrations_total` | a registration was re-created after it vanished (lease lost, key deleted, agent restarted) |
//! | `matchmaker_cache_hits_total` | a lookup was answered from a local cache |
//! | `matchmaker_watch_restarts_total` | a watch or blocking query loop was re-established |
//! | `matchmaker_lookups_total` | a `queues` lookup ran |

mod counters;

pub use counters::Counters;
/// A resolved counter handle (see [`counter_of`]).
pub use metrics::Counter;

/// Name of the heartbeat counter.
pub const HEARTBEATS_SENT: &str = "matchmaker_heartbeats_sent_total";
/// Name of the re-registration counter.
pub const REREGISTRATIONS: &str = "matchmaker_reregistrations_total";
/// Name of the cache-hit counter.
pub const CACHE_HITS: &str = "matchmaker_cache_hits_total";
/// Name of the watch-restart counter.
pub const WATCH_RESTARTS: &str = "matchmaker_watch_restarts_total";
/// Name of the lookup counter.
pub const LOOKUPS: &str = "matchmaker_lookups_total";

/// The handle of counter `name` for `backend`, resolved once: counting through it allocates
/// nothing (a `counter!` call with a label builds its key each time). A handle taken before
/// the application installs its recorder stays a no-op.
pub fn counter_of(name: &'static str, backend: &'static str) -> Counter {
    metrics::counter!(name, "backend" => backend)
}

/// Counts one heartbeat round of `backend`.
pub fn heartbeat_sent(backend: &'static str) {
    metrics::counter!(HEARTBEATS_SENT, "backend" => backend).increment(1);
}

/// Counts `count` re-registrations of `backend`.
pub fn reregistered(backend: &'static str, count: u64) {
    metrics::counter!(REREGISTRATIONS, "backend" => backend).increment(count);
}

/// Counts one lookup answered from `backend`'s cache.
pub fn cache_hit(backend: &'static str) {
    metrics::counter!(CACHE_HITS, "backend" => backend).increment(1);
}

/// Counts one re-established watch of `backend`.
pub fn watch_restarted(backend: &'static str) {
    metrics::counter!(WATCH_RESTARTS, "backend" => backend).increment(1);
}

/// Counts one lookup through a matchmaker of `backend`.
pub fn lookup(backend: &'static str) {
    metrics::counter!(LOOKUPS, "backend" => backend).increment(1);
}
