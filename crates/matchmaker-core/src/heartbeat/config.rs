//! Heartbeat configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The shortest TTL accepted.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// The TTL used when none is configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// How a bare-topic lookup picks one host among the live ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// A uniformly random live host, as the original Redis matchmaker did.
    #[default]
    Random,
    /// The live hosts in turn, per topic, in their stable order.
    RoundRobin,
}

impl std::str::FromStr for Strategy {
    type Err = String;

    /// `random` or `round-robin`; the error lists both.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.trim() {
            "random" => Ok(Strategy::Random),
            "round-robin" => Ok(Strategy::RoundRobin),
            other => Err(format!(
                "strategy {other:?} is unknown; known: random, round-robin"
            )),
        }
    }
}

/// TTL, heartbeat interval and host-selection strategy of a heartbeat matchmaker.
///
/// Durations are written as `"10s"`, `"500ms"` or a bare number of seconds in config files
/// (see [`super::duration_text`]).
///
/// ```
/// use std::time::Duration;
/// use matchmaker_core::HeartbeatConfig;
/// let config = HeartbeatConfig::with_ttl(Duration::from_secs(9));
/// assert_eq!(config.interval(), Duration::from_secs(3));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatConfig {
    /// How long a registration stays alive without a heartbeat. At least [`MIN_TTL`].
    #[serde(with = "super::duration_text")]
    pub ttl: Duration,
    /// Time between heartbeats; defaults to a third of the TTL. Must be below the TTL.
    #[serde(with = "super::duration_text::option")]
    pub interval: Option<Duration>,
    /// How a bare-topic lookup picks one live host.
    pub strategy: Strategy,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self::with_ttl(DEFAULT_TTL)
    }
}

impl HeartbeatConfig {
    /// A config with `ttl`, the default interval (TTL/3) and the default strategy.
    pub fn with_ttl(ttl: Duration) -> Self {
        HeartbeatConfig {
            ttl,
            interval: None,
            strategy: Strategy::default(),
        }
    }

    /// Applies one URL query parameter of the heartbeat (`ttl`, `interval`, `strategy`), as
    /// every backend's URL reads them; `Ok(false)` when `name` is none of them. The error says
    /// what is wrong with the value.
    pub fn set_url_parameter(
        &mut self,
        name: &str,
        value: &str,
    ) -> std::result::Result<bool, String> {
        use super::duration_text::parse_parameter;
        match name {
            "ttl" => self.ttl = parse_parameter(name, value)?,
            "interval" => self.interval = Some(parse_parameter(name, value)?),
            "strategy" => self.strategy = value.parse()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The effective heartbeat interval.
    pub fn interval(&self) -> Duration {
        self.interval.unwrap_or(self.ttl / 3)
    }

    /// Checks TTL >= 1 s and 0 < interval < TTL.
    pub fn validate(&self) -> Result<()> {
        if self.ttl < MIN_TTL {
            return Err(Error::InvalidConfig(format!(
                "ttl is {:?}, the minimum is {:?}",
                self.ttl, MIN_TTL
            )));
        }
        let interval = self.interval();
        if interval.is_zero() || interval >= self.ttl {
            return Err(Error::InvalidConfig(format!(
                "heartbeat interval {:?} must be above zero and below the ttl {:?}",
                interval, self.ttl
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parameters_of_the_heartbeat_are_read_once_for_every_backend() {
        let mut config = HeartbeatConfig::default();
        assert_eq!(config.set_url_parameter("ttl", "6"), Ok(true));
        assert_eq!(config.set_url_parameter("interval", "1500ms"), Ok(true));
        assert_eq!(
            config.set_url_parameter("strategy", "round-robin"),
            Ok(true)
        );
        assert_eq!(config.set_url_parameter("token", "x"), Ok(false));
        assert_eq!(config.ttl, Duration::from_secs(6));
        assert_eq!(config.interval(), Duration::from_millis(1500));
        assert_eq!(config.strategy, Strategy::RoundRobin);
        let error = config.set_url_parameter("ttl", "soon").unwrap_err();
        assert!(
            error.starts_with("ttl \"soon\" is not a duration"),
            "{error}"
        );
        assert!(config.set_url_parameter("strategy", "first").is_err());
    }

    #[test]
    fn default_interval_is_a_third_of_the_ttl() {
        let config = HeartbeatConfig::with_ttl(Duration::from_secs(3));
        assert_eq!(config.interval(), Duration::from_secs(1));
    }

    #[test]
    fn ttl_below_one_second_is_rejected() {
        let config = HeartbeatConfig::with_ttl(Duration::from_millis(999));
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn interval_not_below_ttl_is_rejected() {
        let mut config = HeartbeatConfig::with_ttl(Duration::from_secs(2));
        config.interval = Some(Duration::from_secs(2));
        assert!(config.validate().is_err());
        config.interval = Some(Duration::ZERO);
        assert!(config.validate().is_err());
        config.interval = Some(Duration::from_millis(1500));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn config_reads_human_durations() {
        let config: HeartbeatConfig =
            serde_json::from_str(r#"{"ttl":"6s","interval":"500ms","strategy":"round-robin"}"#)
                .unwrap();
        assert_eq!(config.ttl, Duration::from_secs(6));
        assert_eq!(config.interval(), Duration::from_millis(500));
        assert_eq!(config.strategy, Strategy::RoundRobin);
        let defaults: HeartbeatConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(defaults, HeartbeatConfig::default());
    }
}
