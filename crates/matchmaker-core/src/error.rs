//! The one public error type.

use std::fmt;
use std::path::PathBuf;

/// A boxed error kept as the source of a backend failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across the matchmaker crates.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a matchmaker call can fail with.
///
/// Backends keep their own detail as the `source` and convert into one of these kinds, so
/// callers can match on what happened without knowing which backend they talk to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key, topic or host was rejected before anything was touched.
    #[error("invalid key {}: {reason}", quoted_escaped(key))]
    InvalidKey {
        /// The rejected input (truncated to 80 characters so huge inputs stay readable).
        key: String,
        /// Why it was rejected.
        reason: InvalidKeyReason,
    },
    /// A registration's metadata breaks a limit (see [`crate::heartbeat::metadata`]).
    #[error("invalid metadata {}: {reason}", quoted_escaped(key))]
    InvalidMetadata {
        /// The offending key (empty when the whole map is at fault).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// `start_heartbeat` was called while nothing was registered.
    #[error("Register before starting heartbeat.")]
    NothingRegistered,
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A file the backend needs is missing or malformed.
    #[error("{path}: {message}")]
    File {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The operation needs a tokio runtime and was called outside one.
    #[error("no tokio runtime: {0} must be called from within a tokio runtime")]
    NoRuntime(&'static str),
    /// The backend's server could not be reached (connection refused, timed out, closed).
    #[error("{backend} is unavailable: {source}")]
    Unavailable {
        /// Backend name, e.g. `etcd`.
        backend: &'static str,
        /// The underlying failure.
        source: BoxError,
    },
    /// The server refused the credentials (missing or wrong token, password or certificate).
    #[error("{backend} refused the credentials: {message}")]
    Unauthorized {
        /// Backend name, e.g. `consul`.
        backend: &'static str,
        /// What the server said, and what to do about it.
        message: String,
    },
    /// The backend does not support this operation.
    #[error("{backend} does not support {operation}")]
    Unsupported {
        /// Backend name.
        backend: &'static str,
        /// The operation that was asked for.
        operation: &'static str,
    },
    /// Any other failure reported by the backend.
    #[error("{backend} error: {source}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// The underlying failure.
        source: BoxError,
    },
}

/// `key` quoted like `{:?}`, with every character that can spoof a display escaped too (some
/// of them, such as Hangul fillers, are printable to Rust's `Debug`).
fn quoted_escaped(key: &str) -> String {
    let mut quoted = String::with_capacity(key.len() + 2);
    quoted.push('"');
    for ch in key.chars() {
        if crate::key::can_spoof_display(ch) {
            quoted.push_str(&format!("\\u{{{:x}}}", ch as u32));
        } else {
            quoted.extend(ch.escape_debug());
        }
    }
    quoted.push('"');
    quoted
}

impl Error {
    /// Builds an [`Error::InvalidKey`], truncating very long inputs in the message.
    pub fn invalid_key(key: &str, reason: InvalidKeyReason) -> Self {
        const SHOWN: usize = 80;
        let key = if key.chars().count() > SHOWN {
            let mut shown: String = key.chars().take(SHOWN).collect();
            shown.push('…');
            shown
        } else {
            key.to_owned()
        };
        Error::InvalidKey { key, reason }
    }

    /// Wraps a failure to reach a backend's server.
    pub fn unavailable(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            backend,
            source: source.into(),
        }
    }

    /// Wraps any other backend failure.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend,
            source: source.into(),
        }
    }

    /// The same kind of error with the same message, for each caller that shared one failed
    /// request (sources are boxed and do not clone).
    pub fn shared_copy(&self) -> Error {
        match self {
            Error::InvalidKey { key, reason } => Error::InvalidKey {
                key: key.clone(),
                reason: reason.clone(),
            },
            Error::InvalidMetadata { key, reason } => Error::InvalidMetadata {
                key: key.clone(),
                reason: reason.clone(),
            },
            Error::NothingRegistered => Error::NothingRegistered,
            Error::InvalidConfig(message) => Error::InvalidConfig(message.clone()),
            Error::File { path, message } => Error::File {
                path: path.clone(),
                message: message.clone(),
            },
            Error::NoRuntime(operation) => Error::NoRuntime(operation),
            Error::Unavailable { backend, source } => {
                Error::unavailable(backend, source.to_string())
            }
            Error::Unauthorized { backend, message } => Error::Unauthorized {
                backend,
                message: message.clone(),
            },
            Error::Unsupported { backend, operation } => Error::Unsupported { backend, operation },
            Error::Backend { backend, source } => Error::backend(backend, source.to_string()),
        }
    }

    /// True for failures that may go away by themselves (server unreachable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable { .. })
    }
}

/// Why a key, topic or host was rejected by [`crate::key`] validation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidKeyReason {
    /// The whole key is empty.
    Empty,
    /// The topic part is empty (`.host`, `fanout~` alone, `fanout~.host`).
    EmptyTopic,
    /// The host part is empty (`topic.`).
    EmptyHost,
    /// A dotted topic has an empty segment (`a..b`, `a.`).
    EmptyTopicSegment,
    /// Longer than the documented maximum, in bytes.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The maximum allowed.
        max: usize,
    },
    /// Contains NUL or another control character.
    ControlCharacter {
        /// Byte offset of the first control character.
        at: usize,
    },
    /// A host contains a character hosts may not contain (`/`, `\`, whitespace).
    ForbiddenHostCharacter {
        /// The offending character.
        ch: char,
    },
    /// A host starts with `.` (which also rules out `.` and `..`).
    HostStartsWithDot,
    /// A topic to register starts with the fanout prefix `fanout~`.
    TopicIsFanoutKey,
    /// Contains a character that can make the key display differently from what it is: a bidi
    /// control, a zero-width character or another Unicode format (Cf) character.
    SpoofingCharacter {
        /// The character.
        ch: char,
        /// Its byte offset.
        at: usize,
    },
    /// A topic or host made only of whitespace.
    OnlyWhitespace,
}

impl fmt::Display for InvalidKeyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::EmptyTopic => f.write_str("the topic part is empty"),
            Self::EmptyHost => f.write_str("the host part after the first '.' is empty"),
            Self::EmptyTopicSegment => f.write_str("a dotted topic has an empty segment"),
            Self::TooLong { len, max } => write!(f, "it is {len} bytes long, the maximum is {max}"),
            Self::ControlCharacter { at } => {
                write!(f, "it contains a control character at byte {at}")
            }
            Self::ForbiddenHostCharacter { ch } => {
                write!(f, "hosts may not contain {ch:?}")
            }
            Self::HostStartsWithDot => f.write_str("hosts may not start with '.'"),
            Self::TopicIsFanoutKey => {
                f.write_str("a topic may not start with the fanout prefix 'fanout~'")
            }
            Self::SpoofingCharacter { ch, at } => {
                let (name, class) = crate::display_spoofing::spoofing(*ch)
                    .unwrap_or((None, "a character that can spoof a display"));
                write!(f, "it contains U+{:04X}", u32::from(*ch))?;
                if let Some(name) = name {
                    write!(f, " {name}")?;
                }
                write!(f, " at byte {at}: {class}")
            }
            Self::OnlyWhitespace => f.write_str("a topic or host may not be only whitespace"),
        }
    }
}

/// A failure shown as its one-line cause (`127.0.0.1:1: connection refused`) instead of a
/// library's nested `Debug` text; the library's error stays reachable as the source.
#[derive(Debug)]
pub struct Cause {
    text: String,
    source: BoxError,
}

impl Cause {
    /// `text` is what to show; `source` the error it summarizes.
    pub fn new(text: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Cause {
            text: text.into(),
            source: source.into(),
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// An I/O error as a short cause: `Connection refused (os error 111)` becomes
/// `connection refused` (acronyms such as `TLS ...` keep their case).
pub fn io_error_text(error: &std::io::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => &text[..at],
        _ => text.as_str(),
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_lose_their_os_error_number() {
        assert_eq!(
            io_error_text(&std::io::Error::from_raw_os_error(111)),
            "connection refused"
        );
        let tls = std::io::Error::other("TLS handshake failed");
        assert_eq!(io_error_text(&tls), "TLS handshake failed");
    }

    #[test]
    fn an_invalid_key_is_shown_with_its_spoofing_characters_escaped() {
        let error = Error::invalid_key("evil\u{202e}gnp\u{3164}\"x", InvalidKeyReason::Empty);
        let text = error.to_string();
        assert!(
            text.starts_with(r#"invalid key "evil\u{202e}gnp\u{3164}\"x": "#),
            "{text}"
        );
    }

    #[test]
    fn a_shared_copy_keeps_the_kind_and_the_message() {
        let errors = [
            Error::unavailable("etcd", "no leader"),
            Error::backend("etcd", "txn refused"),
            Error::Unauthorized {
                backend: "consul",
                message: "ACL not found".to_owned(),
            },
            Error::invalid_key("", InvalidKeyReason::Empty),
        ];
        for error in errors {
            let copy = error.shared_copy();
            assert_eq!(copy.to_string(), error.to_string());
            assert_eq!(copy.is_transient(), error.is_transient());
            assert_eq!(
                std::mem::discriminant(&copy),
                std::mem::discriminant(&error)
            );
        }
    }
}
