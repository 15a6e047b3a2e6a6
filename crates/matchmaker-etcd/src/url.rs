//! `EtcdConfig::from_url`: `etcd://user:pass@host1:2379,host2:2379/prefix?ttl=10`.
//!
//! Parsed by hand because general URL parsers reject authorities with several hosts.

use matchmaker_core::heartbeat::duration_text::parse_parameter;
use matchmaker_core::Result;

use crate::config::{invalid, EtcdConfig, EtcdTls};

/// The URL scheme of the etcd backend.
pub const SCHEME: &str = "etcd";
const DEFAULT_PORT: u16 = 2379;
const KNOWN_PARAMETERS: &str =
    "ttl, interval, strategy, connect_timeout, request_timeout, ca, cert, key, domain";

impl EtcdConfig {
    /// Parses `etcd://[user[:password]@]host[:port][,host[:port]...][/prefix][?param=value&...]`.
    ///
    /// - Hosts default to port 2379; IPv6 literals go in brackets (`[::1]:2379`).
    /// - The path is the key prefix (a trailing `/` is added); none means `/matchmaker/`.
    /// - User, password and prefix may be percent-encoded (`%40` for `@`).
    /// - Parameters: `ttl`, `interval`, `strategy`
    ///   (`random`, `round-robin`), `connect_timeout`, `request_timeout`, and the TLS files
    ///   `ca`, `cert`, `key` plus `domain` (any of them turns TLS on). Durations are a bare
    ///   number of seconds (`10`) or `10s`, `1500ms`, `1m`; the TTL must come out as whole
    ///   seconds, at least [`crate::MIN_ETCD_TTL`].
    ///
    /// The result is validated; errors are [`matchmaker_core::Error::InvalidConfig`] saying
    /// what is wrong.
    ///
    /// ```
    /// use std::time::Duration;
    /// use matchmaker_etcd::EtcdConfig;
    /// let config = EtcdConfig::from_url(
    ///     "etcd://user:pass@127.0.0.1:2379,127.0.0.1:22379/prefix?ttl=10",
    /// ).unwrap();
    /// assert_eq!(config.endpoints, ["127.0.0.1:2379", "127.0.0.1:22379"]);
    /// assert_eq!(config.prefix, "/prefix/");
    /// assert_eq!(config.heartbeat.ttl, Duration::from_secs(10));
    /// assert_eq!(config.user.as_deref(), Some("user"));
    /// ```
    pub fn from_url(url: &str) -> Result<EtcdConfig> {
        let rest = url
            .strip_prefix("etcd://")
            .ok_or_else(|| invalid(format!("{} does not start with etcd://", shown(url))))?;
        if rest.contains('#') {
            return Err(invalid("etcd URLs may not have a #fragment"));
        }
        let (before_query, query) = match rest.split_once('?') {
            Some((before, query)) => (before, Some(query)),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(at) => before_query.split_at(at),
            None => (before_query, ""),
        };
        let mut config = EtcdConfig::default();
        let hosts = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => {
                parse_userinfo(userinfo, &mut config)?;
                hosts
            }
            None => authority,
        };
        config.endpoints = parse_hosts(hosts)?;
        if !path.is_empty() && path != "/" {
            let mut prefix = percent_decode(path, "prefix")?;
            if !prefix.ends_with('/') {
                prefix.push('/');
            }
            config.prefix = prefix;
        }
        if let Some(query) = query {
            parse_query(query, &mut config)?;
        }
        config.validate()?;
        Ok(config)
    }
}

fn parse_userinfo(userinfo: &str, config: &mut EtcdConfig) -> Result<()> {
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    if user.is_empty() {
        return Err(invalid("the user before '@' is empty"));
    }
    config.user = Some(percent_decode(user, "user")?);
    config.password = password
        .map(|password| percent_decode(password, "password"))
        .transpose()?;
    Ok(())
}

fn parse_hosts(hosts: &str) -> Result<Vec<String>> {
    if hosts.is_empty() {
        return Err(invalid("the URL names no host: expected etcd://host:port"));
    }
    hosts.split(',').map(parse_host).collect()
}

fn parse_host(entry: &str) -> Result<String> {
    if entry.is_empty() {
        return Err(invalid("an empty host between commas"));
    }
    let (host, port) = if let Some(bracketed) = entry.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid(format!("host {entry:?} has no closing ']'")))?;
        let port =
            match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(|| {
                    invalid(format!("host {entry:?}: expected ':port' after ']'"))
                })?),
            };
        (format!("[{address}]"), port)
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (entry.to_owned(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(invalid(format!("host {entry:?} has an empty name")));
    }
    if let Some(bad) = host
        .chars()
        .find(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, '/' | '@' | '%'))
    {
        return Err(invalid(format!("host {entry:?} contains {bad:?}")));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| {
                invalid(format!(
                    "host {entry:?}: port {port:?} is not a number in 1..=65535"
                ))
            })?,
    };
    Ok(format!("{host}:{port}"))
}

fn parse_query(query: &str, config: &mut EtcdConfig) -> Result<()> {
    let mut tls = EtcdTls::default();
    let mut wants_tls = false;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, raw) = pair
            .split_once('=')
            .ok_or_else(|| invalid(format!("parameter {pair:?} has no '=value'")))?;
        let value = percent_decode(raw, name)?;
        let duration = || parse_parameter(name, &value).map_err(invalid);
        match name {
            _ if config
                .heartbeat
                .set_url_parameter(name, &value)
                .map_err(invalid)? => {}
            "connect_timeout" => config.connect_timeout = duration()?,
            "request_timeout" => config.request_timeout = duration()?,
            "ca" | "cert" | "key" | "domain" => {
                wants_tls = true;
                let slot = match name {
                    "ca" => &mut tls.ca,
                    "cert" => &mut tls.cert,
                    "key" => &mut tls.key,
                    _ => {
                        tls.domain = Some(value);
                        continue;
                    }
                };
                *slot = Some(value.into());
            }
            other => {
                return Err(invalid(format!(
                    "unknown URL parameter {other:?}; known: {KNOWN_PARAMETERS}"
                )))
            }
        }
    }
    if wants_tls {
        config.tls = Some(tls);
    }
    Ok(())
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(text: &str, what: &str) -> Result<String> {
    matchmaker_core::escape::percent_decode(text).ok_or_else(|| {
        invalid(format!(
            "{what}: bad percent escape, or not UTF-8 once decoded"
        ))
    })
}

/// The URL with any password hidden, for error messages.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}<credentials>{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matchmaker_core::Error;
    use matchmaker_core::Strategy;
    use std::time::Duration;

    fn error_of(url: &str) -> String {
        match EtcdConfig::from_url(url) {
            Err(Error::InvalidConfig(message)) => message,
            other => panic!("{url}: expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn url_with_everything_parses() {
        let config = EtcdConfig::from_url(
            "etcd://us%40er:p%3Ass@127.0.0.1:2379,[::1]:22379,node/ns/app?ttl=6s&interval=500ms\
             &strategy=round-robin&request_timeout=2s&connect_timeout=250ms",
        )
        .unwrap();
        assert_eq!(
            config.endpoints,
            ["127.0.0.1:2379", "[::1]:22379", "node:2379"]
        );
        assert_eq!(config.user.as_deref(), Some("us@er"));
        assert_eq!(config.password.as_deref(), Some("p:ss"));
        assert_eq!(config.prefix, "/ns/app/");
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(6));
        assert_eq!(config.heartbeat.interval(), Duration::from_millis(500));
        assert_eq!(config.heartbeat.strategy, Strategy::RoundRobin);
        assert_eq!(config.request_timeout, Duration::from_secs(2));
        assert_eq!(config.connect_timeout, Duration::from_millis(250));
        assert!(config.tls.is_none());
    }

    #[test]
    fn minimal_url_uses_defaults() {
        let config = EtcdConfig::from_url("etcd://localhost").unwrap();
        assert_eq!(config.endpoints, ["localhost:2379"]);
        assert_eq!(config.prefix, "/matchmaker/");
        assert_eq!(config.heartbeat.ttl, Duration::from_secs(10));
        assert_eq!(
            EtcdConfig::from_url("etcd://h:1/").unwrap().prefix,
            "/matchmaker/"
        );
        assert_eq!(
            EtcdConfig::from_url("etcd://h?ttl=10").unwrap().prefix,
            "/matchmaker/"
        );
    }

    #[test]
    fn durations_are_bare_seconds_or_humantime() {
        let ttl = |url: &str| EtcdConfig::from_url(url).unwrap().heartbeat.ttl;
        assert_eq!(ttl("etcd://h?ttl=10"), Duration::from_secs(10));
        assert_eq!(ttl("etcd://h?ttl=10s"), Duration::from_secs(10));
        assert_eq!(ttl("etcd://h?ttl=2000ms"), Duration::from_secs(2));
        assert_eq!(ttl("etcd://h?ttl=1m"), Duration::from_secs(60));
        let config = EtcdConfig::from_url("etcd://h?ttl=6&interval=1500ms").unwrap();
        assert_eq!(config.heartbeat.interval(), Duration::from_millis(1500));
        let config = EtcdConfig::from_url("etcd://h?interval=1&request_timeout=1m").unwrap();
        assert_eq!(config.heartbeat.interval(), Duration::from_secs(1));
        assert_eq!(config.request_timeout, Duration::from_secs(60));
    }

    #[test]
    fn tls_parameters_turn_tls_on() {
        let config =
            EtcdConfig::from_url("etcd://h:1?ca=/tmp/ca.pem&cert=/c.pem&key=/k.pem&domain=etcd")
                .unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.ca.unwrap().to_str(), Some("/tmp/ca.pem"));
        assert_eq!(tls.domain.as_deref(), Some("etcd"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let cases = [
            ("http://h:1", "etcd://"),
            ("etcd://", "no host"),
            ("etcd://a:1,,b:2", "empty host"),
            ("etcd://a:99999", "port"),
            ("etcd://a:0", "port"),
            ("etcd://a:x", "port"),
            ("etcd://[::1", "']'"),
            ("etcd://a:1?ttl=1", "minimum"),
            ("etcd://a:1?ttl=ten", "not a duration"),
            ("etcd://a:1?ttl=1.5s", "minimum"),
            ("etcd://a:1?ttl=2500ms", "whole seconds"),
            ("etcd://a:1?ttl=2.5", "whole seconds"),
            ("etcd://a:1?ttl=1.2.3", "not a duration"),
            ("etcd://a:1?ttl=-3", "not a duration"),
            ("etcd://a:1?bogus=1", "unknown URL parameter"),
            ("etcd://a:1?ttl", "no '=value'"),
            ("etcd://a:1?strategy=first", "strategy"),
            ("etcd://a:1?interval=soon", "duration"),
            ("etcd://:pw@a:1", "user"),
            ("etcd://u:%zz@a:1", "percent"),
            ("etcd://a:1/x/../y", ".."),
            ("etcd://a:1#frag", "fragment"),
            ("etcd://a:1?cert=/c.pem", "together"),
        ];
        for (url, needle) in cases {
            let message = error_of(url);
            assert!(
                message.contains(needle),
                "{url}: {message:?} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn errors_never_show_the_password() {
        let message = error_of("https://user:secret@h:1");
        assert!(!message.contains("secret"), "{message}");
    }
}
