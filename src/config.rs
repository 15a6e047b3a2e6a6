//! [`ConnectConfig`]: what to connect to, from a URL, a TOML file or the environment.

use std::path::Path;
use std::time::Duration;

use matchmaker_core::{Error, HeartbeatConfig, Result, Strategy};
use serde::Deserialize;

/// The environment variable holding the matchmaker URL.
pub const ENV_URL: &str = "MATCHMAKER_URL";
/// The environment variable holding the heartbeat TTL (`10s`, `1500ms`).
pub const ENV_TTL: &str = "MATCHMAKER_TTL";
/// The environment variable holding the heartbeat interval (`3s`).
pub const ENV_INTERVAL: &str = "MATCHMAKER_HEARTBEAT_INTERVAL";
/// The environment variable holding the host-selection strategy (`random`, `round-robin`).
pub const ENV_STRATEGY: &str = "MATCHMAKER_STRATEGY";

/// Everything [`crate::connect_with`] needs: a URL plus optional settings.
///
/// As a TOML file:
///
/// ```toml
/// url = "etcd://127.0.0.1:2379"
///
/// [heartbeat]        # optional; defaults: ttl 10s, interval ttl/3, strategy random
/// ttl = "6s"
/// interval = "2s"
/// strategy = "round-robin"
///
/// [etcd]             # optional backend table, only with an etcd:// url
/// # fields of matchmaker_etcd::EtcdConfig
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectConfig {
    /// The backend URL, e.g. `memory://`, `etcd://127.0.0.1:2379`.
    pub url: String,
    /// Heartbeat settings replacing the backend's defaults (heartbeat backends only).
    #[serde(default)]
    pub heartbeat: Option<HeartbeatConfig>,
    /// Extra settings of the etcd backend, only valid with an `etcd://` URL.
    #[serde(default)]
    pub etcd: Option<toml::Table>,
    /// Extra settings of the Consul backend, only valid with a `consul://` URL.
    #[serde(default)]
    pub consul: Option<toml::Table>,
}

impl ConnectConfig {
    /// A config with `url` and every other setting left to the backend.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectConfig {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Replaces the heartbeat settings.
    pub fn with_heartbeat(mut self, heartbeat: HeartbeatConfig) -> Self {
        self.heartbeat = Some(heartbeat);
        self
    }

    /// Parses a TOML document.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config: Self = toml::from_str(text)
            .map_err(|error| Error::InvalidConfig(format!("matchmaker config: {error}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads a TOML file; a missing or malformed file is an [`Error::File`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file_error = |message: String| Error::File {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|error| file_error(error.to_string()))?;
        let config: Self = toml::from_str(&text).map_err(|error| file_error(error.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads [`ENV_URL`] (required) and the optional [`ENV_TTL`], [`ENV_INTERVAL`] and
    /// [`ENV_STRATEGY`] from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_env_vars(|name| std::env::var(name).ok())
    }

    /// Like [`ConnectConfig::from_env`] with variables read through `lookup`.
    pub fn from_env_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let url = lookup(ENV_URL)
            .filter(|url| !url.trim().is_empty())
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "{ENV_URL} is not set: set it to a matchmaker URL such as memory:// or \
                 etcd://127.0.0.1:2379"
                ))
            })?;
        let ttl = lookup(ENV_TTL)
            .map(|text| parse_duration(ENV_TTL, &text))
            .transpose()?;
        let interval = lookup(ENV_INTERVAL)
            .map(|text| parse_duration(ENV_INTERVAL, &text))
            .transpose()?;
        let strategy = lookup(ENV_STRATEGY)
            .map(|text| parse_strategy(&text))
            .transpose()?;
        let mut config = ConnectConfig::new(url.trim());
        if ttl.is_some() || interval.is_some() || strategy.is_some() {
            let mut heartbeat = HeartbeatConfig::default();
            if let Some(ttl) = ttl {
                heartbeat.ttl = ttl;
            }
            heartbeat.interval = interval;
            heartbeat.strategy = strategy.unwrap_or_default();
            config.heartbeat = Some(heartbeat);
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks the heartbeat settings and that a backend table matches the URL's scheme.
    pub fn validate(&self) -> Result<()> {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.validate()?;
        }
        let (scheme, _) = crate::schemes::split_url(&self.url)?;
        for (table, present) in [
            ("etcd", self.etcd.is_some()),
            ("consul", self.consul.is_some()),
        ] {
            if present && scheme != table {
                return Err(Error::InvalidConfig(format!(
                    "the [{table}] table only applies to {table}:// URLs, but url is {:?}",
                    self.url
                )));
            }
        }
        Ok(())
    }

    /// The backend table for `scheme`, if the config has one.
    pub(crate) fn options_for(&self, scheme: &str) -> Option<&toml::Table> {
        match scheme {
            "etcd" => self.etcd.as_ref(),
            "consul" => self.consul.as_ref(),
            _ => None,
        }
    }
}

fn parse_duration(variable: &str, text: &str) -> Result<Duration> {
    humantime::parse_duration(text.trim()).map_err(|error| {
        Error::InvalidConfig(format!(
            "{variable}={text:?} is not a duration ({error}); write e.g. 10s or 1500ms"
        ))
    })
}

fn parse_strategy(text: &str) -> Result<Strategy> {
    match text.trim() {
        "random" => Ok(Strategy::Random),
        "round-robin" => Ok(Strategy::RoundRobin),
        other => Err(Error::InvalidConfig(format!(
            "{ENV_STRATEGY}={other:?} is not a strategy; use random or round-robin"
        ))),
    }
}
