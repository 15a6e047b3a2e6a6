//! [`directed`]: one named host's service, for a directed key `topic.host`.

use matchmaker_core::key::{self, KeyKind};
use matchmaker_core::{Error, Registry, Result, Route};

use crate::Member;

/// The service of the one host a directed key `topic.host` names, made by `make`, or `None`
/// when that host does not serve the topic right now.
///
/// The key goes through [`matchmaker_core::MatchMaker::queues`] like any lookup, so the
/// matchmaker's rules decide where it routes, and then, on a registry backend (one with a
/// heartbeat), the topic's listing ([`Registry::list`]) confirms that the host is registered
/// and alive and gives its metadata to the [`Member`]: a host that is not registered, has
/// expired or was drained gives `Ok(None)`, never a service that would dial a dead address. Static backends (localhost,
/// ring) keep no registry, so their route is taken as it is; a route with no host (stub)
/// gives `Ok(None)`.
///
/// The key splits at its first `.`, as every matchmaker key does (`a.b.c` is host `b.c` of
/// topic `a`), so a dotted topic's hosts are not reachable this way: use [`crate::Discovery`].
///
/// # Errors
/// [`Error::InvalidKey`] for an invalid key, [`Error::InvalidConfig`] for a key that is not
/// directed (a bare topic or a fanout key), and whatever the lookup fails with (e.g.
/// [`Error::Unavailable`]).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use matchmaker_core::{HeartbeatConfig, MatchMaker};
///
/// let registry = matchmaker_memory::MemoryRegistry::new();
/// let matchmaker = matchmaker_memory::connect(&registry, HeartbeatConfig::with_ttl(Duration::from_secs(10)))?;
/// matchmaker.register("echo", "127.0.0.1:7001").await?;
///
/// let address = |member: &matchmaker_tower::Member| format!("http://{}", member.host);
/// let service = matchmaker_tower::directed(&matchmaker, "echo.127.0.0.1:7001", address).await?;
/// assert_eq!(service.as_deref(), Some("http://127.0.0.1:7001"));
/// // Not registered: no service.
/// assert_eq!(matchmaker_tower::directed(&matchmaker, "echo.127.0.0.1:7002", address).await?, None);
/// # Ok::<(), matchmaker_core::Error>(()) }).unwrap();
/// ```
pub async fn directed<S>(
    registry: &dyn Registry,
    key: &str,
    make: impl FnOnce(&Member) -> S,
) -> Result<Option<S>> {
    let KeyKind::Direct { topic, host } = key::parse_key(key)? else {
        return Err(Error::InvalidConfig(format!(
            "{key:?} is not a directed key: expected topic.host"
        )));
    };
    let routes = registry.queues(key).await?;
    let Some(routed) = routes.iter().find_map(Route::host) else {
        return Ok(None);
    };
    let mut member = Member::new(topic, routed);
    if registry.heartbeat_config().is_some() {
        let listing = registry.list(Some(topic)).await?;
        let Some(registration) = listing.into_iter().find(|registration| {
            registration.alive && registration.topic == topic && registration.host == routed
        }) else {
            return Ok(None);
        };
        member = member.with_metadata(std::sync::Arc::new(registration.metadata));
    }
    if routed != host {
        tracing::debug!(key, routed, "directed key routed to another host");
    }
    Ok(Some(make(&member)))
}
