//! `EtcdConfig`: where etcd is, which prefix to use, TTL, TLS and credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use matchmaker_core::{Error, HeartbeatConfig, Result};
use serde::Deserialize;

use crate::naming::validate_prefix;

/// The shortest lease TTL accepted: etcd (default flags) raises shorter leases to this anyway.
pub const MIN_ETCD_TTL: Duration = Duration::from_secs(2);
/// The endpoint used when none is configured.
pub const DEFAULT_ENDPOINT: &str = "127.0.0.1:2379";
/// The key prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "/matchmaker/";

/// How to reach etcd and how to register there.
///
/// Build it from serde (every field optional), from [`EtcdConfig::from_url`] or with struct
/// update syntax over [`EtcdConfig::default`]. `Debug` output redacts the password.
///
/// ```
/// use matchmaker_etcd::EtcdConfig;
/// let config: EtcdConfig = serde_json::from_str(
///     r#"{"endpoints": ["10.0.0.1:2379"], "prefix": "/rpc/", "heartbeat": {"ttl": "6s"}}"#,
/// ).unwrap();
/// assert_eq!(config.prefix, "/rpc/");
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdConfig {
    /// `host:port` (or `http://`/`https://` URLs) of the etcd members.
    pub endpoints: Vec<String>,
    /// Namespace of every key: non-empty, starts and ends with `/`, no `..` segment.
    pub prefix: String,
    /// Lease TTL (at least [`MIN_ETCD_TTL`]), heartbeat interval and host-selection strategy.
    pub heartbeat: HeartbeatConfig,
    /// TLS settings; `None` talks plain HTTP/2.
    pub tls: Option<EtcdTls>,
    /// User name for etcd authentication.
    pub user: Option<String>,
    /// Password of `user` (redacted in `Debug`).
    pub password: Option<String>,
    /// Timeout for establishing a connection to one member.
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub connect_timeout: Duration,
    /// Timeout of each request (and of waiting for a keep-alive answer).
    #[serde(with = "matchmaker_core::heartbeat::duration_text")]
    pub request_timeout: Duration,
    /// Extra key/value pairs stored in every registration's value (shown by listings).
    pub metadata: BTreeMap<String, String>,
}

/// TLS files for talking to etcd over HTTPS.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EtcdTls {
    /// PEM file of the CA that signed the server certificates (system roots are not used).
    pub ca: Option<PathBuf>,
    /// PEM client certificate, for servers started with `--client-cert-auth`.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// Name to verify the server certificate against, when it differs from the endpoint host.
    pub domain: Option<String>,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        EtcdConfig {
            endpoints: vec![DEFAULT_ENDPOINT.to_owned()],
            prefix: DEFAULT_PREFIX.to_owned(),
            heartbeat: HeartbeatConfig::default(),
            tls: None,
            user: None,
            password: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            metadata: BTreeMap::new(),
        }
    }
}

impl EtcdConfig {
    /// Checks every field; the error says which one is wrong and why.
    pub fn validate(&self) -> Result<()> {
        if self.endpoints.is_empty() {
            return Err(invalid("endpoints is empty: give at least one host:port"));
        }
        if let Some(bad) = self.endpoints.iter().find(|e| e.trim().is_empty()) {
            return Err(invalid(format!("endpoint {bad:?} is empty")));
        }
        validate_prefix(&self.prefix)?;
        matchmaker_core::heartbeat::validate_metadata(&self.metadata)?;
        self.heartbeat.validate()?;
        if self.heartbeat.ttl < MIN_ETCD_TTL {
            return Err(invalid(format!(
                "ttl is {:?}, etcd's minimum lease TTL is {:?} (etcd raises shorter leases \
                 to 1.5 x its election timeout, 2 s with default flags)",
                self.heartbeat.ttl, MIN_ETCD_TTL
            )));
        }
        if self.heartbeat.ttl.subsec_nanos() != 0 {
            return Err(invalid(format!(
                "ttl is {:?}, etcd leases are whole seconds",
                self.heartbeat.ttl
            )));
        }
        if self.password.is_some() && self.user.is_none() {
            return Err(invalid("a password is set but no user"));
        }
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err(invalid(
                "connect_timeout and request_timeout must be above zero",
            ));
        }
        if let Some(tls) = &self.tls {
            if tls.cert.is_some() != tls.key.is_some() {
                return Err(invalid(
                    "tls.cert and tls.key must be given together (client certificate and its key)",
                ));
            }
        }
        Ok(())
    }

    /// The lease TTL in whole seconds, as etcd wants it.
    pub(crate) fn ttl_seconds(&self) -> i64 {
        i64::try_from(self.heartbeat.ttl.as_secs()).unwrap_or(i64::MAX)
    }
}

impl fmt::Debug for EtcdConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdConfig")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("heartbeat", &self.heartbeat)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("metadata", &self.metadata)
            .finish()
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidConfig(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_uses_the_documented_defaults() {
        let config = EtcdConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.endpoints, ["127.0.0.1:2379"]);
        assert_eq!(config.prefix, "/matchmaker/");
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(10));
    }

    #[test]
    fn ttl_below_etcds_minimum_is_rejected_with_an_explanation() {
        let mut config = EtcdConfig {
            heartbeat: HeartbeatConfig::with_ttl(Duration::from_secs(1)),
            ..Default::default()
        };
        let error = config.validate().unwrap_err();
        assert!(matches!(error, Error::InvalidConfig(_)));
        assert!(error.to_string().contains("minimum"), "{error}");
        config.heartbeat = HeartbeatConfig::with_ttl(Duration::from_secs(2));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn fractional_ttl_is_rejected() {
        let config = EtcdConfig {
            heartbeat: HeartbeatConfig::with_ttl(Duration::from_millis(2500)),
            ..Default::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn bad_fields_are_rejected() {
        let bad = [
            EtcdConfig {
                endpoints: vec![],
                ..Default::default()
            },
            EtcdConfig {
                endpoints: vec![" ".into()],
                ..Default::default()
            },
            EtcdConfig {
                prefix: "no-slash".into(),
                ..Default::default()
            },
            EtcdConfig {
                password: Some("p".into()),
                ..Default::default()
            },
            EtcdConfig {
                request_timeout: Duration::ZERO,
                ..Default::default()
            },
            EtcdConfig {
                tls: Some(EtcdTls {
                    cert: Some("c.pem".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(Error::InvalidConfig(_))),
                "{config:?} was accepted"
            );
        }
    }

    #[test]
    fn debug_output_redacts_the_password() {
        let config = EtcdConfig {
            user: Some("root".into()),
            password: Some("hunter2".into()),
            ..Default::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("root"),
            "{shown}"
        );
    }

    #[test]
    fn config_reads_from_serde_with_human_durations() {
        let config: EtcdConfig = serde_json::from_str(
            r#"{"endpoints":["a:1","b:2"],"request_timeout":"750ms",
                "heartbeat":{"ttl":"4s"},"tls":{"ca":"/ca.pem"}}"#,
        )
        .unwrap();
        assert_eq!(config.endpoints, ["a:1", "b:2"]);
        assert_eq!(config.request_timeout, Duration::from_millis(750));
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(4));
        assert_eq!(config.tls.unwrap().ca, Some(PathBuf::from("/ca.pem")));
        assert!(serde_json::from_str::<EtcdConfig>(r#"{"nope":1}"#).is_err());
    }
}
