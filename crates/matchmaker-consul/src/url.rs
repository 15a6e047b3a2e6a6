//! `consul://host:port/namespace?ttl=10s&token=...` into a [`ConsulConfig`].

use ::url::Url;
use matchmaker_core::heartbeat::duration_text::parse_parameter;
use matchmaker_core::{Error, Result};
use std::path::PathBuf;

use crate::config::{ConsulConfig, Scheme, TlsConfig};

/// The URL schemes this backend accepts.
pub const URL_SCHEMES: [&str; 2] = ["consul", "consuls"];

pub(crate) fn parse(text: &str) -> Result<ConsulConfig> {
    let url = Url::parse(text).map_err(|error| bad(text, &error.to_string()))?;
    let scheme = match url.scheme() {
        "consul" => Scheme::Http,
        "consuls" => Scheme::Https,
        other => {
            return Err(bad(
                text,
                &format!("scheme {other:?} is not one of {URL_SCHEMES:?}"),
            ))
        }
    };
    let mut config = ConsulConfig {
        scheme,
        ..ConsulConfig::default()
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            text,
            "put the ACL token in ?token=, not in the user part",
        ));
    }
    let host = url.host_str().filter(|host| !host.is_empty());
    if let Some(host) = host {
        let port = url.port().unwrap_or(8500);
        config.address = format!("{host}:{port}");
    }
    let path = url.path().trim_matches('/');
    if !path.is_empty() {
        let namespace = matchmaker_core::escape::percent_decode(path)
            .ok_or_else(|| bad(text, "namespace is not valid percent-encoded UTF-8"))?;
        config.namespace = namespace;
    }
    let mut tls = TlsConfig::default();
    for (name, value) in url.query_pairs() {
        let value = value.into_owned();
        let duration = || parse_parameter(&name, &value).map_err(|why| bad(text, &why));
        let heartbeat = config.heartbeat.set_url_parameter(&name, &value);
        match name.as_ref() {
            _ if heartbeat.map_err(|why| bad(text, &why))? => {}
            "token" => config.token = Some(value),
            "deregister_after" => {
                config.deregister_critical_after = duration()?;
            }
            "wait" => config.blocking_wait = duration()?,
            "tls" => match value.as_str() {
                "1" | "true" => config.scheme = Scheme::Https,
                "0" | "false" => config.scheme = Scheme::Http,
                _ => return Err(bad(text, "tls must be 1/true or 0/false")),
            },
            "ca" => tls.ca = Some(PathBuf::from(value)),
            "cert" => tls.cert = Some(PathBuf::from(value)),
            "key" => tls.key = Some(PathBuf::from(value)),
            other => return Err(bad(text, &format!("unknown parameter {other:?}"))),
        }
    }
    if tls != TlsConfig::default() {
        config.tls = Some(tls);
    }
    config.validate()?;
    Ok(config)
}

/// Shows the URL without its query (which may hold a token).
fn bad(text: &str, why: &str) -> Error {
    let shown = text.split('?').next().unwrap_or(text);
    Error::InvalidConfig(format!("consul URL {shown:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use matchmaker_core::Strategy;
    use std::time::Duration;

    #[test]
    fn url_sets_address_namespace_and_ttl() {
        let config = parse("consul://10.0.0.5:8600/billing?ttl=9s").unwrap();
        assert_eq!(config.address, "10.0.0.5:8600");
        assert_eq!(config.namespace, "billing");
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(9));
        assert_eq!(config.heartbeat.interval(), Duration::from_secs(3));
        assert_eq!(config.scheme, Scheme::Http);
        assert_eq!(config.base_url(), "http://10.0.0.5:8600");
    }

    #[test]
    fn url_without_port_or_path_uses_defaults() {
        let config = parse("consul://agent.local").unwrap();
        assert_eq!(config.address, "agent.local:8500");
        assert_eq!(config.namespace, "matchmaker");
        let bare = parse("consul://").unwrap();
        assert_eq!(bare.address, "127.0.0.1:8500");
    }

    #[test]
    fn consuls_scheme_and_tls_parameter_select_https() {
        assert_eq!(parse("consuls://h:1/n").unwrap().scheme, Scheme::Https);
        let config = parse("consul://h:1/n?tls=1&ca=/etc/ca.pem").unwrap();
        assert_eq!(config.scheme, Scheme::Https);
        assert_eq!(config.tls.unwrap().ca, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn url_reads_token_strategy_wait_and_deregister_delay() {
        let config =
            parse("consul://h:1/n?token=s3cret&strategy=round-robin&wait=5s&deregister_after=2m")
                .unwrap();
        assert_eq!(config.token.as_deref(), Some("s3cret"));
        assert_eq!(config.heartbeat.strategy, Strategy::RoundRobin);
        assert_eq!(config.blocking_wait, Duration::from_secs(5));
        assert_eq!(config.deregister_critical_after, Duration::from_secs(120));
    }

    #[test]
    fn durations_are_bare_seconds_or_humantime() {
        let ttl = |url: &str| parse(url).unwrap().heartbeat.ttl;
        assert_eq!(ttl("consul://h:1/n?ttl=10"), Duration::from_secs(10));
        assert_eq!(ttl("consul://h:1/n?ttl=10s"), Duration::from_secs(10));
        assert_eq!(
            ttl("consul://h:1/n?ttl=1500ms"),
            Duration::from_millis(1500)
        );
        assert_eq!(ttl("consul://h:1/n?ttl=1m"), Duration::from_secs(60));
        let config = parse("consul://h:1/n?ttl=6&interval=2&wait=5&deregister_after=90").unwrap();
        assert_eq!(config.heartbeat.interval(), Duration::from_secs(2));
        assert_eq!(config.blocking_wait, Duration::from_secs(5));
        assert_eq!(config.deregister_critical_after, Duration::from_secs(90));
        assert_eq!(ttl("consul://h:1/n?ttl=1.5"), Duration::from_millis(1500));
        let error = parse("consul://h:1/n?ttl=ten").unwrap_err().to_string();
        assert!(
            error.contains("write 10 (seconds), 10s, 1500ms or 1m"),
            "{error}"
        );
    }

    #[test]
    fn percent_encoded_namespace_is_decoded() {
        assert_eq!(parse("consul://h:1/a%20b").unwrap().namespace, "a b");
    }

    #[test]
    fn bad_urls_are_invalid_config_errors() {
        for text in [
            "http://h:1/n",
            "consul://h:1/n?ttl=soon",
            "consul://h:1/n?ttl=100ms",
            "consul://h:1/n?ttl=0",
            "consul://h:1/n?ttl=-5",
            "consul://h:1/n?colour=blue",
            "consul://h:1/n?deregister_after=30s",
            "consul://h:1/n?strategy=first",
            "consul://h:1/n?tls=maybe",
            "consul://user:pw@h:1/n",
            "consul://h:1/n?cert=/c.pem",
            "not a url",
        ] {
            assert!(
                matches!(parse(text), Err(Error::InvalidConfig(_))),
                "{text} should be rejected"
            );
        }
    }

    #[test]
    fn url_errors_never_show_the_token() {
        let error = parse("consul://h:1/n?token=s3cret&ttl=x").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
