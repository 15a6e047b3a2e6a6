//! The scheme registry: which URL scheme builds which backend, behind which feature.
//!
//! An explicit static table (no link-time registration), so an unknown scheme can list the
//! known ones and a known scheme whose feature is off can name the feature to enable.

use std::future::Future;
use std::pin::Pin;

use matchmaker_core::{Error, HeartbeatConfig, Result};

use crate::backends;
use crate::Registry;

/// What a backend constructor is given: the URL split at `://`, plus optional settings.
#[derive(Debug, Clone, Copy)]
// Each backend reads the fields it needs; with few backends compiled in, some go unread.
#[allow(dead_code)]
pub(crate) struct Target<'a> {
    /// The whole URL, for backends that parse it themselves (etcd, consul); empty when the
    /// backend is configured by a table instead.
    pub url: &'a str,
    /// The text after `scheme://`.
    pub rest: &'a str,
    /// Heartbeat settings to use instead of the backend's defaults.
    pub heartbeat: Option<&'a HeartbeatConfig>,
    /// The backend's own table from a config file (`[etcd]`, `[consul]`), if any.
    pub options: Option<&'a toml::Table>,
}

/// A boxed future returned by backend constructors.
pub(crate) type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn Registry>>> + Send + 'a>>;

/// Builds a backend from a [`Target`].
pub(crate) type ConnectFn = for<'a> fn(Target<'a>) -> ConnectFuture<'a>;

/// One entry of the scheme registry.
#[derive(Clone, Copy)]
pub struct Scheme {
    /// The URL scheme, e.g. `etcd`.
    pub name: &'static str,
    /// The cargo feature of the `matchmaker` crate that compiles the backend in.
    pub feature: &'static str,
    /// The URL shape, e.g. `memory://[name]`.
    pub usage: &'static str,
    /// What the backend is.
    pub summary: &'static str,
    connect: Option<ConnectFn>,
}

impl Scheme {
    /// True when the backend is compiled into this build.
    pub fn is_enabled(&self) -> bool {
        self.connect.is_some()
    }

    pub(crate) fn connector(&self) -> Option<ConnectFn> {
        self.connect
    }
}

impl std::fmt::Debug for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheme")
            .field("name", &self.name)
            .field("feature", &self.feature)
            .field("usage", &self.usage)
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

static SCHEMES: &[Scheme] = &[
    Scheme {
        name: "memory",
        feature: "memory",
        usage: "memory://[name]",
        summary: "in-process registry with TTL expiry (one per name, shared by the process)",
        connect: backends::MEMORY,
    },
    Scheme {
        name: "localhost",
        feature: "localhost",
        usage: "localhost://[host]",
        summary: "static: every topic is served by one host (default `localhost`)",
        connect: backends::LOCALHOST,
    },
    Scheme {
        name: "stub",
        feature: "stub",
        usage: "stub://",
        summary: "static: every key comes back untouched, with no host",
        connect: backends::STUB,
    },
    Scheme {
        name: "ring",
        feature: "ring",
        usage: "ring:///path/to/ring.json",
        summary: "static: topics and hosts read from a JSON ring file",
        connect: backends::RING,
    },
    Scheme {
        name: "etcd",
        feature: "etcd",
        usage: "etcd://host:port[,host:port...]",
        summary: "etcd leases: registrations expire when their process stops heartbeating",
        connect: backends::ETCD,
    },
    Scheme {
        name: "consul",
        feature: "consul",
        usage: "consul://host:port",
        summary: "Consul agent services with TTL checks",
        connect: backends::CONSUL,
    },
    Scheme {
        name: "consuls",
        feature: "consul",
        usage: "consuls://host:port",
        summary: "Consul over HTTPS",
        connect: backends::CONSUL,
    },
];

/// Every scheme [`crate::connect`] knows, whether or not its feature is enabled.
pub fn schemes() -> &'static [Scheme] {
    SCHEMES
}

/// Splits `scheme://rest`, lower-casing the scheme.
pub(crate) fn split_url(url: &str) -> Result<(String, &str)> {
    match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() => Ok((scheme.to_ascii_lowercase(), rest)),
        _ => Err(Error::InvalidConfig(format!(
            "{url:?} is not a matchmaker URL: expected scheme://..., known schemes: {}",
            known_schemes(SCHEMES)
        ))),
    }
}

/// Finds the entry for `scheme` in `table`, with the errors users see.
///
/// - unknown scheme: lists the known ones;
/// - known scheme whose feature is off: names the feature to enable.
pub(crate) fn resolve<'t>(table: &'t [Scheme], scheme: &str) -> Result<&'t Scheme> {
    let Some(entry) = table.iter().find(|entry| entry.name == scheme) else {
        return Err(Error::InvalidConfig(format!(
            "unknown matchmaker scheme {scheme:?}; known schemes: {}",
            known_schemes(table)
        )));
    };
    if !entry.is_enabled() {
        return Err(Error::InvalidConfig(format!(
            "the {scheme}:// backend is not compiled in: enable the {:?} feature of matchmaker \
             (e.g. `matchmaker = {{ features = [{:?}] }}` in Cargo.toml)",
            entry.feature, entry.feature
        )));
    }
    Ok(entry)
}

fn known_schemes(table: &[Scheme]) -> String {
    table
        .iter()
        .map(|entry| entry.usage)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_connect(_: Target<'_>) -> ConnectFuture<'_> {
        Box::pin(async { Err(Error::InvalidConfig("fake".into())) })
    }

    fn fake_table() -> [Scheme; 2] {
        [
            Scheme {
                name: "on",
                feature: "on-feature",
                usage: "on://x",
                summary: "enabled",
                connect: Some(fake_connect),
            },
            Scheme {
                name: "etcd",
                feature: "etcd",
                usage: "etcd://host:port",
                summary: "disabled",
                connect: None,
            },
        ]
    }

    #[test]
    fn scheme_whose_feature_is_off_names_the_feature_to_enable() {
        let table = fake_table();
        let message = resolve(&table, "etcd").unwrap_err().to_string();
        assert!(
            message.contains("enable the \"etcd\" feature of matchmaker"),
            "{message}"
        );
    }

    #[test]
    fn unknown_scheme_lists_the_known_ones() {
        let table = fake_table();
        let message = resolve(&table, "redis").unwrap_err().to_string();
        assert!(message.contains("\"redis\""), "{message}");
        assert!(message.contains("on://x, etcd://host:port"), "{message}");
    }

    #[test]
    fn enabled_scheme_resolves_to_its_entry() {
        let table = fake_table();
        assert_eq!(resolve(&table, "on").unwrap().feature, "on-feature");
    }

    #[test]
    fn url_without_separator_is_rejected_with_the_known_schemes() {
        let message = split_url("127.0.0.1:2379").unwrap_err().to_string();
        assert!(message.contains("expected scheme://"), "{message}");
        assert!(message.contains("memory://[name]"), "{message}");
    }

    #[test]
    fn scheme_is_matched_case_insensitively() {
        assert_eq!(split_url("MEMORY://x").unwrap(), ("memory".to_owned(), "x"));
    }

    #[test]
    fn every_backend_scheme_has_one_table_entry() {
        let names: Vec<_> = schemes().iter().map(|entry| entry.name).collect();
        assert_eq!(
            names,
            [
                "memory",
                "localhost",
                "stub",
                "ring",
                "etcd",
                "consul",
                "consuls"
            ]
        );
    }
}
