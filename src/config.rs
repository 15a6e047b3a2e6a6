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
/// ```
///
/// or, instead of `url`, the backend's own settings as one table (`[etcd]` with the fields of
/// `matchmaker_etcd::EtcdConfig`, or `[consul]` with those of `matchmaker_consul::ConsulConfig`):
///
/// ```toml
/// [etcd]
/// endpoints = ["10.0.0.1:2379", "10.0.0.2:2379"]
/// prefix = "/rpc/"
/// heartbeat = { ttl = "6s" }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectConfig {
    /// The backend URL, e.g. `memory://`, `etcd://127.0.0.1:2379`; required unless one
    /// backend table is given.
    #[serde(default)]
    pub url: Option<String>,
    /// Heartbeat settings replacing the backend's defaults (heartbeat backends only).
    #[serde(default)]
    pub heartbeat: Option<HeartbeatConfig>,
    /// The etcd backend's settings (`matchmaker_etcd::EtcdConfig` fields), instead of `url`.
    #[serde(default)]
    pub etcd: Option<toml::Table>,
    /// The Consul backend's settings (`matchmaker_consul::ConsulConfig` fields), instead of
    /// `url`.
    #[serde(default)]
    pub consul: Option<toml::Table>,
}

impl ConnectConfig {
    /// A config with `url` and every other setting left to the backend.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectConfig {
            url: Some(url.into()),
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

    /// Checks the heartbeat settings and that exactly one of `url` and the backend tables
    /// says which backend to use.
    pub fn validate(&self) -> Result<()> {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.validate()?;
        }
        self.target().map(|_| ())
    }

    /// The scheme, the text after `scheme://` (empty for a table) and the backend table.
    pub(crate) fn target(&self) -> Result<(String, &str, Option<&toml::Table>)> {
        let tables: Vec<(&str, &toml::Table)> = [("etcd", &self.etcd), ("consul", &self.consul)]
            .into_iter()
            .filter_map(|(name, table)| table.as_ref().map(|table| (name, table)))
            .collect();
        match (&self.url, tables.as_slice()) {
            (Some(url), []) => {
                let (scheme, rest) = crate::schemes::split_url(url)?;
                Ok((scheme, rest, None))
            }
            (None, [(name, table)]) => Ok(((*name).to_owned(), "", Some(*table))),
            (None, []) => Err(Error::InvalidConfig(
                "no backend given: set url (e.g. url = \"memory://\") or one [etcd] or \
                 [consul] table"
                    .into(),
            )),
            (Some(url), [(name, _), ..]) => Err(Error::InvalidConfig(format!(
                "both url ({url:?}) and an [{name}] table are given: keep one of them"
            ))),
            (None, _) => Err(Error::InvalidConfig(
                "both an [etcd] and a [consul] table are given: keep one of them".into(),
            )),
        }
    }
}

fn parse_duration(variable: &str, text: &str) -> Result<Duration> {
    matchmaker_core::heartbeat::duration_text::parse_duration(text).map_err(|error| {
        Error::InvalidConfig(format!("{variable}={text:?} is not a duration: {error}"))
    })
}

fn parse_strategy(text: &str) -> Result<Strategy> {
    text.parse()
        .map_err(|why: String| Error::InvalidConfig(format!("{ENV_STRATEGY}: {why}")))
}
