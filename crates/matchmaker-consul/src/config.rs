//! `ConsulConfig`: where the agent is, how to authenticate, and the timing knobs.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use matchmaker_core::{Error, HeartbeatConfig, Result};
use serde::Deserialize;

/// The shortest `DeregisterCriticalServiceAfter` Consul honours.
pub const MIN_DEREGISTER_CRITICAL_AFTER: Duration = Duration::from_secs(60);
/// Consul's own upper bound on a blocking query's wait.
pub const MAX_BLOCKING_WAIT: Duration = Duration::from_secs(600);
/// Environment variable read for a token when none is configured (as the `consul` CLI does).
pub const TOKEN_ENV: &str = "CONSUL_HTTP_TOKEN";

/// `http` or `https` towards the agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP (a local agent on loopback).
    #[default]
    Http,
    /// HTTPS with rustls; see [`TlsConfig`].
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// PEM files for HTTPS: a CA to trust and an optional client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate (PEM) that signed the agent's certificate; the WebPKI roots otherwise.
    pub ca: Option<PathBuf>,
    /// Client certificate chain (PEM), for agents with `verify_incoming`.
    pub cert: Option<PathBuf>,
    /// Private key (PEM) of `cert`.
    pub key: Option<PathBuf>,
}

/// Configuration of the Consul backend.
///
/// ```
/// use matchmaker_consul::ConsulConfig;
/// let config = ConsulConfig::from_url("consul://127.0.0.1:8500/billing?ttl=6s").unwrap();
/// assert_eq!(config.namespace, "billing");
/// assert_eq!(config.heartbeat.ttl, std::time::Duration::from_secs(6));
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsulConfig {
    /// `host:port` of the agent's HTTP API.
    pub address: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Our namespace inside Consul: a tag and a service-name prefix, so several deployments
    /// can share one Consul cluster. Not a Consul Enterprise namespace.
    pub namespace: String,
    /// TTL, heartbeat interval (TTL/3 by default) and host-selection strategy.
    pub heartbeat: HeartbeatConfig,
    /// ACL token sent as `X-Consul-Token`; [`TOKEN_ENV`] is read when unset. Redacted in `Debug`.
    pub token: Option<String>,
    /// Certificates for `https`.
    pub tls: Option<TlsConfig>,
    /// How long a critical service stays in the catalog before the agent reaps it (>= 1 min).
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub deregister_critical_after: Duration,
    /// How long one blocking query waits for a change (Consul caps it at 10 min).
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub blocking_wait: Duration,
    /// The least time between two blocking queries of one loop (rate limit).
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub min_query_interval: Duration,
    /// Timeout of every non-blocking request.
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub request_timeout: Duration,
}

impl Default for ConsulConfig {
    fn default() -> Self {
        ConsulConfig {
            address: "127.0.0.1:8500".to_owned(),
            scheme: Scheme::Http,
            namespace: "matchmaker".to_owned(),
            heartbeat: HeartbeatConfig::default(),
            token: None,
            tls: None,
            deregister_critical_after: MIN_DEREGISTER_CRITICAL_AFTER,
            blocking_wait: Duration::from_secs(30),
            min_query_interval: Duration::from_millis(50),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for ConsulConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsulConfig")
            .field("address", &self.address)
            .field("scheme", &self.scheme)
            .field("namespace", &self.namespace)
            .field("heartbeat", &self.heartbeat)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls)
            .field("deregister_critical_after", &self.deregister_critical_after)
            .field("blocking_wait", &self.blocking_wait)
            .field("min_query_interval", &self.min_query_interval)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ConsulConfig {
    /// Parses `consul://host:port/namespace?ttl=10s&token=...`.
    ///
    /// `consuls://` (or `?tls=1`) selects HTTPS. Query parameters: `ttl`, `interval`,
    /// `strategy` (`random`, `round-robin`), `token`, `ca`, `cert`, `key`,
    /// `deregister_after`, `wait`, `tls`. The path is the namespace (default `matchmaker`).
    /// Unknown parameters are an [`Error::InvalidConfig`], as are bad values.
    pub fn from_url(text: &str) -> Result<Self> {
        crate::url::parse(text)
    }

    /// The base URL of the agent's HTTP API, e.g. `http://127.0.0.1:8500`.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme.as_str(), self.address)
    }

    /// The configured token, or [`TOKEN_ENV`] when none is configured.
    pub fn effective_token(&self) -> Option<String> {
        self.token
            .clone()
            .or_else(|| std::env::var(TOKEN_ENV).ok())
            .filter(|token| !token.trim().is_empty())
    }

    /// Checks every value; what [`crate::connect`] runs first.
    pub fn validate(&self) -> Result<()> {
        self.heartbeat.validate()?;
        if self.address.trim().is_empty() || self.address.contains('/') {
            return invalid(format!(
                "address {:?} must be host:port of the agent's HTTP API",
                self.address
            ));
        }
        crate::naming::validate_namespace(&self.namespace)?;
        if self.deregister_critical_after < MIN_DEREGISTER_CRITICAL_AFTER {
            return invalid(format!(
                "deregister_critical_after is {:?}; Consul's minimum is {:?}",
                self.deregister_critical_after, MIN_DEREGISTER_CRITICAL_AFTER
            ));
        }
        if self.blocking_wait < Duration::from_secs(1) || self.blocking_wait > MAX_BLOCKING_WAIT {
            return invalid(format!(
                "blocking_wait is {:?}; it must be between 1s and {:?}",
                self.blocking_wait, MAX_BLOCKING_WAIT
            ));
        }
        if self.request_timeout.is_zero() {
            return invalid("request_timeout must be above zero".to_owned());
        }
        if let Some(tls) = &self.tls {
            if tls.cert.is_some() != tls.key.is_some() {
                return invalid("tls.cert and tls.key must be given together".to_owned());
            }
            if self.scheme == Scheme::Http {
                return invalid("tls options need scheme https (consuls:// or ?tls=1)".to_owned());
            }
        }
        Ok(())
    }
}

fn invalid<T>(message: String) -> Result<T> {
    Err(Error::InvalidConfig(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_token() {
        let config = ConsulConfig {
            token: Some("s3cret-token".to_owned()),
            ..ConsulConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn defaults_are_valid_and_point_at_the_local_agent() {
        let config = ConsulConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.base_url(), "http://127.0.0.1:8500");
        assert_eq!(config.namespace, "matchmaker");
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(10));
    }

    #[test]
    fn deregister_delay_below_one_minute_is_rejected() {
        let config = ConsulConfig {
            deregister_critical_after: Duration::from_secs(59),
            ..ConsulConfig::default()
        };
        assert!(matches!(config.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        let cases = [
            ConsulConfig {
                blocking_wait: Duration::from_secs(601),
                ..ConsulConfig::default()
            },
            ConsulConfig {
                address: String::new(),
                ..ConsulConfig::default()
            },
            ConsulConfig {
                namespace: String::new(),
                ..ConsulConfig::default()
            },
            ConsulConfig {
                heartbeat: HeartbeatConfig::with_ttl(Duration::from_millis(10)),
                ..ConsulConfig::default()
            },
            ConsulConfig {
                tls: Some(TlsConfig::default()),
                ..ConsulConfig::default()
            },
        ];
        for config in cases {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }

    #[test]
    fn config_reads_from_serde_with_human_durations() {
        let config: ConsulConfig = serde_json::from_str(
            r#"{"address":"10.0.0.1:8501","scheme":"https","namespace":"n",
                "heartbeat":{"ttl":"6s"},"token":"t","tls":{"ca":"/ca.pem"},
                "deregister_critical_after":"2m","blocking_wait":"20s"}"#,
        )
        .unwrap();
        assert_eq!(config.scheme, Scheme::Https);
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(6));
        assert_eq!(config.deregister_critical_after, Duration::from_secs(120));
        assert!(config.validate().is_ok());
        assert!(serde_json::from_str::<ConsulConfig>(r#"{"colour":"blue"}"#).is_err());
    }
}
