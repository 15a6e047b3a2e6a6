//! Which registry a command talks to: `--url`, else the environment, read the way `etcdctl`
//! and `consul` read theirs, else the throwaway `memory://`.

use crate::failure::{Exit, Failure};

/// The variables read, in order, when `--url` is not given.
pub const MATCHMAKER_URL: &str = "MATCHMAKER_URL";
/// etcdctl's endpoints: `host:2379,host:2379`, with or without `http://` / `https://`.
pub const ETCDCTL_ENDPOINTS: &str = "ETCDCTL_ENDPOINTS";
/// The consul CLI's agent address: `host:8500`, `http://host:8500` or `https://host:8501`.
pub const CONSUL_HTTP_ADDR: &str = "CONSUL_HTTP_ADDR";

/// The URL used when nothing names a registry.
pub const DEFAULT_URL: &str = "memory://";

/// Where the registry URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--url`.
    Flag,
    /// One of the environment variables.
    Env(&'static str),
    /// Nothing named a registry: the in-process `memory://`, which lives as long as the command.
    Default,
}

/// The registry a command talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The matchmaker URL (may hold a password: print it through `output::redact_url`).
    pub url: String,
    /// Where it came from.
    pub origin: Origin,
    /// What `-v` should say about the choice (several variables set, ...).
    pub notes: Vec<String>,
}

impl Target {
    /// The URL for messages: redacted, and saying which variable it came from.
    pub fn described(&self) -> String {
        let shown = crate::output::redact_url(&self.url);
        match self.origin {
            Origin::Env(variable) => format!("{shown} (from {variable})"),
            Origin::Flag | Origin::Default => shown,
        }
    }
}

/// Picks the registry: `flag`, else `MATCHMAKER_URL`, else `ETCDCTL_ENDPOINTS` (as `etcd://`),
/// else `CONSUL_HTTP_ADDR` (as `consul://` or `consuls://`), else `memory://`. Empty variables
/// count as unset; `lookup` reads one variable.
pub fn resolve(
    flag: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Target, Failure> {
    let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let target = |url: String, origin| Target {
        url,
        origin,
        notes: Vec::new(),
    };
    if let Some(url) = flag {
        return Ok(target(url.to_owned(), Origin::Flag));
    }
    if let Some(url) = lookup(MATCHMAKER_URL) {
        return Ok(target(url.trim().to_owned(), Origin::Env(MATCHMAKER_URL)));
    }
    let consul = lookup(CONSUL_HTTP_ADDR);
    if let Some(endpoints) = lookup(ETCDCTL_ENDPOINTS) {
        let mut chosen = target(
            etcd_url(&endpoints, &lookup)?,
            Origin::Env(ETCDCTL_ENDPOINTS),
        );
        if consul.is_some() {
            chosen.notes.push(format!(
                "both {ETCDCTL_ENDPOINTS} and {CONSUL_HTTP_ADDR} are set: using etcd \
                 ({ETCDCTL_ENDPOINTS} comes first); give --url or {MATCHMAKER_URL} to choose"
            ));
        }
        return Ok(chosen);
    }
    if let Some(address) = consul {
        let url = consul_url(&address, &lookup)?;
        return Ok(target(url, Origin::Env(CONSUL_HTTP_ADDR)));
    }
    Ok(target(DEFAULT_URL.to_owned(), Origin::Default))
}

/// `http://a:2379,b:2379` as `etcd://a:2379,b:2379`; `https://` endpoints turn TLS on with
/// `ETCDCTL_CACERT` (required: the etcd backend trusts no system roots), `ETCDCTL_CERT` and
/// `ETCDCTL_KEY`; `ETCDCTL_USER` (`user` or `user:password`) and `ETCDCTL_PASSWORD` log in.
fn etcd_url(endpoints: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let bad = |why: String| {
        Failure::new(
            Exit::InvalidInput,
            format!("{ETCDCTL_ENDPOINTS}={endpoints:?}: {why}"),
        )
        .hint(format!(
            "write {ETCDCTL_ENDPOINTS}=host:2379[,host:2379...] (http:// or https:// \
                 allowed), or give --url etcd://host:2379"
        ))
    };
    let mut hosts = Vec::new();
    let mut schemes = Vec::new();
    for entry in endpoints
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (scheme, rest) = match entry.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), entry),
        };
        if scheme != "http" && scheme != "https" {
            return Err(bad(format!(
                "{entry:?}: only http:// and https:// endpoints work"
            )));
        }
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            return Err(bad(format!("{entry:?} is not host:port")));
        }
        hosts.push(host.to_owned());
        schemes.push(scheme);
    }
    if hosts.is_empty() {
        return Err(bad("it names no endpoint".to_owned()));
    }
    let tls = schemes.iter().any(|scheme| scheme == "https");
    if tls && schemes.iter().any(|scheme| scheme == "http") {
        return Err(bad("mixes http:// and https:// endpoints".to_owned()));
    }
    let mut userinfo = String::new();
    if let Some(user) = lookup("ETCDCTL_USER") {
        let (user, password) = match user.split_once(':') {
            Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
            None => (user, lookup("ETCDCTL_PASSWORD")),
        };
        userinfo = encode(&user);
        if let Some(password) = password {
            userinfo.push(':');
            userinfo.push_str(&encode(&password));
        }
        userinfo.push('@');
    }
    let mut url = format!("etcd://{userinfo}{}", hosts.join(","));
    if tls {
        if lookup("ETCDCTL_CACERT").is_none() {
            return Err(bad(
                "https:// endpoints need ETCDCTL_CACERT, the CA file that signed them (the \
                 etcd backend trusts no system roots)"
                    .to_owned(),
            ));
        }
        push_files(
            &mut url,
            lookup,
            &[
                ("ca", "ETCDCTL_CACERT"),
                ("cert", "ETCDCTL_CERT"),
                ("key", "ETCDCTL_KEY"),
            ],
        );
    }
    Ok(url)
}

/// `host:8500` or `http://host:8500` as `consul://host:8500`, `https://host:8501` (or
/// `CONSUL_HTTP_SSL=true`) as `consuls://host:8501` with `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`
/// and `CONSUL_CLIENT_KEY`. `CONSUL_HTTP_TOKEN` needs nothing here: the consul backend reads it
/// itself whenever the URL has no `token=`.
fn consul_url(address: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, Failure> {
    let bad = |why: &str| {
        Failure::new(
            Exit::InvalidInput,
            format!("{CONSUL_HTTP_ADDR}={address:?}: {why}"),
        )
        .hint(format!(
            "write {CONSUL_HTTP_ADDR}=host:8500 (http:// or https:// allowed), or give \
                 --url consul://host:8500"
        ))
    };
    let address = address.trim();
    let (https, rest) = match address.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" => (false, rest),
            "https" => (true, rest),
            _ => return Err(bad("only http:// and https:// agent addresses work")),
        },
        None => {
            let ssl = lookup("CONSUL_HTTP_SSL")
                .is_some_and(|value| matches!(value.trim(), "1" | "true" | "TRUE" | "True"));
            (ssl, address)
        }
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(bad("it is not host:port"));
    }
    if !https {
        return Ok(format!("consul://{host}"));
    }
    let mut url = format!("consuls://{host}");
    push_files(
        &mut url,
        lookup,
        &[
            ("ca", "CONSUL_CACERT"),
            ("cert", "CONSUL_CLIENT_CERT"),
            ("key", "CONSUL_CLIENT_KEY"),
        ],
    );
    Ok(url)
}

/// Appends `?name=value&...` for each variable of `files` that is set.
fn push_files(url: &mut String, lookup: &impl Fn(&str) -> Option<String>, files: &[(&str, &str)]) {
    let mut separator = '?';
    for (name, variable) in files {
        if let Some(path) = lookup(variable) {
            url.push(separator);
            url.push_str(name);
            url.push('=');
            url.push_str(&encode(path.trim()));
            separator = '&';
        }
    }
}

/// Percent-encodes everything but unreserved characters and `/`, so user names, passwords and
/// file paths survive both backends' URL parsers (`+` stays `+` only when encoded).
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<Target, Failure> {
        resolve(flag, |name| {
            vars.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    fn url_of(vars: &[(&str, &str)]) -> String {
        resolved(None, vars).unwrap().url
    }

    #[test]
    fn the_flag_wins_then_matchmaker_url_then_etcdctl_then_consul_then_memory() {
        let all = [
            (MATCHMAKER_URL, "localhost://env"),
            (ETCDCTL_ENDPOINTS, "e:2379"),
            (CONSUL_HTTP_ADDR, "c:8500"),
        ];
        let flag = resolved(Some("stub://"), &all).unwrap();
        assert_eq!((flag.url.as_str(), flag.origin), ("stub://", Origin::Flag));
        let env = resolved(None, &all).unwrap();
        assert_eq!(env.origin, Origin::Env(MATCHMAKER_URL));
        assert_eq!(env.url, "localhost://env");
        assert_eq!(url_of(&all[1..]), "etcd://e:2379");
        assert_eq!(url_of(&all[2..]), "consul://c:8500");
        let none = resolved(None, &[]).unwrap();
        assert_eq!(
            (none.url.as_str(), none.origin),
            ("memory://", Origin::Default)
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let target = resolved(None, &[(MATCHMAKER_URL, " "), (ETCDCTL_ENDPOINTS, "")]).unwrap();
        assert_eq!(target.origin, Origin::Default);
    }

    #[test]
    fn etcdctl_endpoints_become_one_etcd_url_with_or_without_http() {
        assert_eq!(
            url_of(&[(
                ETCDCTL_ENDPOINTS,
                "http://10.0.0.1:2379, 10.0.0.2:2379,http://h3:2379/"
            )]),
            "etcd://10.0.0.1:2379,10.0.0.2:2379,h3:2379"
        );
    }

    #[test]
    fn https_etcdctl_endpoints_turn_tls_on_with_the_etcdctl_files() {
        let url = url_of(&[
            (ETCDCTL_ENDPOINTS, "https://a:2379,https://b:2379"),
            ("ETCDCTL_CACERT", "/etc/etcd/ca.pem"),
            ("ETCDCTL_CERT", "/etc/etcd/my cert+1.pem"),
            ("ETCDCTL_KEY", "/etc/etcd/key.pem"),
        ]);
        assert_eq!(
            url,
            "etcd://a:2379,b:2379?ca=/etc/etcd/ca.pem&cert=/etc/etcd/my%20cert%2B1.pem\
             &key=/etc/etcd/key.pem"
        );
        matchmaker::etcd::EtcdConfig::from_url(&url).expect("the etcd backend reads it");
        let missing_ca = resolved(None, &[(ETCDCTL_ENDPOINTS, "https://a:2379")]).unwrap_err();
        assert_eq!(missing_ca.exit, Exit::InvalidInput);
        assert!(
            missing_ca.message.contains("ETCDCTL_CACERT"),
            "{missing_ca}"
        );
    }

    #[test]
    fn etcdctl_user_logs_in_with_the_password_encoded() {
        let url = url_of(&[
            (ETCDCTL_ENDPOINTS, "a:2379"),
            ("ETCDCTL_USER", "root:p@ss:w"),
        ]);
        assert_eq!(url, "etcd://root:p%40ss%3Aw@a:2379");
        let config = matchmaker::etcd::EtcdConfig::from_url(&url).unwrap();
        assert_eq!(config.password.as_deref(), Some("p@ss:w"));
        let url = url_of(&[
            (ETCDCTL_ENDPOINTS, "a:2379"),
            ("ETCDCTL_USER", "root"),
            ("ETCDCTL_PASSWORD", "pw"),
        ]);
        assert_eq!(url, "etcd://root:pw@a:2379");
    }

    #[test]
    fn bad_etcdctl_endpoints_are_invalid_input() {
        for endpoints in [
            ",",
            "unix:///run/etcd.sock",
            "http://a:1/x",
            "https://a:1,http://b:1",
        ] {
            let failure = resolved(None, &[(ETCDCTL_ENDPOINTS, endpoints)]).unwrap_err();
            assert_eq!(failure.exit, Exit::InvalidInput, "{endpoints}");
            assert!(failure.to_string().contains("--url etcd://"), "{failure}");
        }
    }

    #[test]
    fn consul_http_addr_with_or_without_a_scheme() {
        assert_eq!(
            url_of(&[(CONSUL_HTTP_ADDR, "127.0.0.1:8500")]),
            "consul://127.0.0.1:8500"
        );
        assert_eq!(
            url_of(&[(CONSUL_HTTP_ADDR, "http://c:8500/")]),
            "consul://c:8500"
        );
        assert_eq!(
            url_of(&[(CONSUL_HTTP_ADDR, "https://c:8501")]),
            "consuls://c:8501"
        );
        assert_eq!(
            url_of(&[(CONSUL_HTTP_ADDR, "c:8501"), ("CONSUL_HTTP_SSL", "true")]),
            "consuls://c:8501"
        );
        let url = url_of(&[
            (CONSUL_HTTP_ADDR, "https://c:8501"),
            ("CONSUL_CACERT", "/ca.pem"),
            ("CONSUL_CLIENT_CERT", "/c.pem"),
            ("CONSUL_CLIENT_KEY", "/k.pem"),
        ]);
        assert_eq!(url, "consuls://c:8501?ca=/ca.pem&cert=/c.pem&key=/k.pem");
        matchmaker::consul::ConsulConfig::from_url(&url).expect("the consul backend reads it");
        let unix = resolved(None, &[(CONSUL_HTTP_ADDR, "unix:///tmp/consul.sock")]).unwrap_err();
        assert_eq!(unix.exit, Exit::InvalidInput);
    }

    #[test]
    fn etcd_wins_over_consul_and_says_so() {
        let target = resolved(
            None,
            &[(ETCDCTL_ENDPOINTS, "e:2379"), (CONSUL_HTTP_ADDR, "c:8500")],
        )
        .unwrap();
        assert_eq!(target.origin, Origin::Env(ETCDCTL_ENDPOINTS));
        assert!(target.notes[0].contains("using etcd"), "{:?}", target.notes);
        assert_eq!(target.described(), "etcd://e:2379 (from ETCDCTL_ENDPOINTS)");
    }
}
