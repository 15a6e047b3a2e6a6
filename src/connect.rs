//! `connect`: build a matchmaker from a URL, a config file or the environment.

use std::path::Path;

use matchmaker_core::Result;

use crate::schemes::{resolve, schemes, Target};
use crate::{ConnectConfig, Registry};

/// Connects to the backend named by `url`'s scheme, with its default settings.
///
/// Schemes: `memory://[name]`, `localhost://[host]`, `stub://`, `ring:///path/ring.json`,
/// `etcd://host:port[,host:port]`, `consul://host:port` (each behind its feature; see
/// [`crate::schemes`]).
///
/// ```
/// # #[cfg(feature = "localhost")] // the default; the example needs it
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use matchmaker::MatchMaker;
/// let matchmaker = matchmaker::connect("localhost://node1").await.unwrap();
/// let routes = matchmaker.queues("scheduler").await.unwrap();
/// assert_eq!(routes[0].queue(), "scheduler.node1");
/// # });
/// ```
pub async fn connect(url: &str) -> Result<Box<dyn Registry>> {
    connect_with(&ConnectConfig::new(url)).await
}

/// Connects with the settings of `config`.
pub async fn connect_with(config: &ConnectConfig) -> Result<Box<dyn Registry>> {
    if let Some(heartbeat) = &config.heartbeat {
        heartbeat.validate()?;
    }
    let (scheme, rest, options) = config.target()?;
    let entry = resolve(schemes(), &scheme)?;
    let connector = entry.connector().ok_or_else(|| {
        matchmaker_core::Error::InvalidConfig(format!("{scheme}:// is not compiled in"))
    })?;
    let target = Target {
        url: config.url.as_deref().unwrap_or_default(),
        rest,
        heartbeat: config.heartbeat.as_ref(),
        options,
    };
    // The URL may hold a password: log the scheme only.
    tracing::debug!(scheme = entry.name, "matchmaker connecting");
    let registry = connector(target).await?;
    tracing::info!(backend = registry.backend_name(), "matchmaker connected");
    Ok(registry)
}

/// Connects with the settings of a TOML file (see [`ConnectConfig`]).
pub async fn from_config_file(path: impl AsRef<Path>) -> Result<Box<dyn Registry>> {
    connect_with(&ConnectConfig::from_file(path)?).await
}

/// Connects with the settings of the `MATCHMAKER_URL`, `MATCHMAKER_TTL`,
/// `MATCHMAKER_HEARTBEAT_INTERVAL` and `MATCHMAKER_STRATEGY` environment variables.
pub async fn from_env() -> Result<Box<dyn Registry>> {
    connect_with(&ConnectConfig::from_env()?).await
}
