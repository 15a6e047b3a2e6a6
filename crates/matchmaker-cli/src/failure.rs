//! What went wrong, the exit code it maps to, and a hint that says what to do.

use std::fmt;
use std::process::ExitCode;

use matchmaker::Error;

/// Exit codes, documented in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 1: anything not covered below.
    Other = 1,
    /// 3: a key, host, URL or config was rejected.
    InvalidInput = 3,
    /// 4: the registry could not be reached.
    Unreachable = 4,
    /// 5: nothing found (a lookup with no host, a pair that is not registered).
    NotFound = 5,
    /// 6: the registry refused the credentials.
    Unauthorized = 6,
    /// 7: the backend does not support the operation.
    Unsupported = 7,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A failed command: a message for stderr, an optional hint, and an exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub exit: Exit,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with no hint.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Maps a matchmaker error of a command run against `registry` (its URL, redacted, and
    /// where it came from).
    pub fn from_error(error: Error, registry: &str) -> Self {
        let message = error.to_string();
        match error {
            Error::InvalidKey { .. } => Failure::new(Exit::InvalidInput, message).hint(
                "keys are `topic`, `topic.host` or `fanout~topic`; hosts may not contain '/' or \
                 whitespace",
            ),
            Error::InvalidMetadata { .. } => Failure::new(Exit::InvalidInput, message).hint(
                "--meta takes KEY=VALUE: keys of letters, digits, '_' or '-' (not mm_ or \
                 consul...), values up to 512 bytes",
            ),
            Error::InvalidConfig(text) if is_about_ttl(&text) => {
                Failure::new(Exit::InvalidInput, message).hint(ttl_hint(registry))
            }
            Error::InvalidConfig(_) | Error::File { .. } => {
                Failure::new(Exit::InvalidInput, message).hint(format!(
                    "check the registry URL ({registry}); see `matchmaker --help` for the \
                     schemes and the variables read without --url"
                ))
            }
            Error::Unavailable { .. } => Failure::new(Exit::Unreachable, message).hint(format!(
                "is the registry at {registry} running and reachable? Set the right one with \
                 --url or MATCHMAKER_URL"
            )),
            Error::Unauthorized { .. } => Failure::new(Exit::Unauthorized, message)
                .hint("check the credentials given in the URL or the backend's config"),
            Error::Unsupported { backend, .. } => {
                Failure::new(Exit::Unsupported, message).hint(format!(
                    "{backend}:// keeps no registry; use memory://, etcd://host:port or \
                     consul://host:port"
                ))
            }
            _ => Failure::new(Exit::Other, message),
        }
    }
}

/// True for a configuration error about the TTL or the heartbeat interval: core's and etcd's
/// say `ttl is ...` / `heartbeat interval ...`, the URL parsers `ttl="..."` / `ttl "..."`.
fn is_about_ttl(message: &str) -> bool {
    [
        "ttl is ",
        "ttl=",
        "ttl \"",
        "interval is ",
        "interval=",
        "interval \"",
        "heartbeat interval",
    ]
    .iter()
    .any(|pattern| message.contains(pattern))
}

/// What TTLs the backend of `registry` accepts, and where to set one.
fn ttl_hint(registry: &str) -> String {
    let limits = if registry.starts_with("etcd://") {
        "etcd leases are whole seconds, at least 2s"
    } else {
        "at least 1s"
    };
    format!(
        "set the TTL with --ttl (or ttl= in the URL): a bare number is seconds (10), or 10s, \
         1500ms, 1m; {limits}, and above the heartbeat interval (a third of the TTL unless \
         interval= says otherwise)"
    )
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_registry_exits_4_and_names_the_url() {
        let failure = Failure::from_error(
            Error::unavailable("etcd", "connection refused"),
            "etcd://127.0.0.1:1",
        );
        assert_eq!(failure.exit, Exit::Unreachable);
        assert!(failure.to_string().contains("etcd://127.0.0.1:1"));
    }

    #[test]
    fn unsupported_operation_exits_7_and_suggests_a_registry() {
        let failure = Failure::from_error(
            Error::Unsupported {
                backend: "stub",
                operation: "list",
            },
            "stub://",
        );
        assert_eq!(failure.exit, Exit::Unsupported);
        assert!(failure.to_string().contains("use memory://"));
    }

    #[test]
    fn unauthorized_exits_6() {
        let failure = Failure::from_error(
            Error::Unauthorized {
                backend: "consul",
                message: "ACL not found".into(),
            },
            "consul://x",
        );
        assert_eq!(failure.exit, Exit::Unauthorized);
    }

    #[test]
    fn ttl_errors_hint_at_the_ttl_flag_and_the_backends_limits() {
        let failure = Failure::from_error(
            Error::InvalidConfig("ttl is 1ms, the minimum is 1s".into()),
            "memory://",
        );
        assert_eq!(failure.exit, Exit::InvalidInput);
        let shown = failure.to_string();
        assert!(shown.contains("hint: set the TTL with --ttl"), "{shown}");
        assert!(!shown.contains("check the registry URL"), "{shown}");
        let etcd = Failure::from_error(
            Error::InvalidConfig("ttl is 1s, etcd's minimum lease TTL is 2s".into()),
            "etcd://h:2379",
        );
        assert!(
            etcd.to_string().contains("whole seconds, at least 2s"),
            "{etcd}"
        );
    }

    #[test]
    fn other_config_errors_point_at_the_url() {
        let failure = Failure::from_error(
            Error::InvalidConfig("unknown matchmaker scheme \"redis\"".into()),
            "redis://h (from MATCHMAKER_URL)",
        );
        assert!(
            failure
                .to_string()
                .contains("check the registry URL (redis://h (from MATCHMAKER_URL))"),
            "{failure}"
        );
    }

    #[test]
    fn backend_error_exits_1() {
        let failure = Failure::from_error(Error::backend("etcd", "boom"), "etcd://x");
        assert_eq!(failure.exit, Exit::Other);
    }
}
