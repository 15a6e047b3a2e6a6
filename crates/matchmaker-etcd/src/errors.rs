//! Turning etcd-client failures into the core error kinds, each shown as a one-line cause.

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;

use matchmaker_core::Error;

/// The backend name used in errors, logs and telemetry.
pub(crate) const BACKEND: &str = "etcd";

/// gRPC status codes we tell apart (numbers from the gRPC spec; read through etcd-client so
/// this crate needs no direct tonic dependency).
#[derive(Debug, PartialEq, Eq)]
enum Code {
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    PermissionDenied,
    Unavailable,
    Unauthenticated,
    Other,
}

/// The gRPC code and message of a status error; `None` for other errors.
fn grpc_status(error: &etcd_client::Error) -> Option<(Code, String)> {
    let etcd_client::Error::GRpcStatus(status) = error else {
        return None;
    };
    let code = match status.code() as i32 {
        1 => Code::Cancelled,
        2 => Code::Unknown,
        3 => Code::InvalidArgument,
        4 => Code::DeadlineExceeded,
        5 => Code::NotFound,
        7 => Code::PermissionDenied,
        14 => Code::Unavailable,
        16 => Code::Unauthenticated,
        _ => Code::Other,
    };
    Some((code, status.message().to_owned()))
}

/// Maps an etcd-client error to `Unavailable`, `Unauthorized` or `Backend`.
pub(crate) fn from_client(error: etcd_client::Error) -> Error {
    use etcd_client::Error as E;
    if let Some((code, message)) = grpc_status(&error) {
        return match code {
            Code::Unauthenticated | Code::PermissionDenied => unauthorized(&message),
            // etcd answers InvalidArgument for a wrong password and for a missing user.
            Code::InvalidArgument
                if message.contains("authentication failed")
                    || message.contains("user name is empty") =>
            {
                unauthorized(&message)
            }
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                Error::unavailable(BACKEND, Cause::new(error))
            }
            _ => Error::backend(BACKEND, Cause::new(error)),
        };
    }
    match error {
        E::TransportError(_) | E::IoError(_) | E::LeaseKeepAliveError(_) | E::WatchError(_) => {
            Error::unavailable(BACKEND, Cause::new(error))
        }
        other => Error::backend(BACKEND, Cause::new(other)),
    }
}

/// An etcd-client error shown as its one-line cause (`127.0.0.1:1: connection refused`)
/// instead of the client's nested `Debug` dump; the client's error stays reachable as the
/// source.
#[derive(Debug)]
pub(crate) struct Cause {
    text: String,
    error: etcd_client::Error,
}

impl Cause {
    pub(crate) fn new(error: etcd_client::Error) -> Self {
        Cause {
            text: one_line(&error),
            error,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        // etcd-client's error has no `source()`: hand out the error it wraps, so the whole
        // chain (status, transport error, I/O error) stays walkable.
        Some(root(&self.error).unwrap_or(&self.error))
    }
}

/// The error an etcd-client error wraps, where it wraps one with a chain of its own.
fn root(error: &etcd_client::Error) -> Option<&(dyn StdError + 'static)> {
    match error {
        etcd_client::Error::GRpcStatus(status) => Some(status),
        etcd_client::Error::TransportError(error) => Some(error),
        etcd_client::Error::IoError(error) => Some(error),
        _ => None,
    }
}

/// What went wrong in one line: the innermost cause (the one that says what happened),
/// prefixed by the member's address when the chain names one.
pub(crate) fn one_line(error: &etcd_client::Error) -> String {
    use etcd_client::Error as E;
    let Some(root) = root(error) else {
        return match error {
            // Their Display is a short sentence already.
            E::WatchError(message) | E::LeaseKeepAliveError(message) => message.clone(),
            other => other.to_string(),
        };
    };
    let mut chain = vec![root];
    let mut innermost = root;
    while let Some(next) = innermost.source() {
        chain.push(next);
        innermost = next;
    }
    let text = match (innermost.downcast_ref::<std::io::Error>(), error) {
        (Some(io), _) => matchmaker_core::io_error_text(io),
        // A status with no cause under it: etcd's (or the client's) own message.
        (None, E::GRpcStatus(status)) if chain.len() == 1 => {
            if status.message().is_empty() {
                status.code().to_string()
            } else {
                status.message().to_owned()
            }
        }
        (None, _) => innermost.to_string(),
    };
    // hyper says "dns error" a level above the resolver's own words.
    let resolving = chain.iter().any(|error| error.to_string() == "dns error");
    let text = if resolving && !text.contains("dns") {
        format!("dns error: {text}")
    } else {
        text
    };
    match chain.iter().rev().find_map(|error| socket_address(*error)) {
        Some(address) if !text.contains(&address.to_string()) => format!("{address}: {text}"),
        _ => text,
    }
}

/// The socket address a connect error names. hyper keeps it only in its `Debug` output, which
/// is read here for that one token and never shown.
fn socket_address(error: &(dyn StdError + 'static)) -> Option<SocketAddr> {
    if error.downcast_ref::<std::io::Error>().is_some() {
        return None;
    }
    let debug = format!("{error:?}");
    debug
        .split(|ch: char| ch.is_whitespace() || matches!(ch, ',' | '(' | ')' | '"'))
        .find_map(|token| token.parse().ok())
}

fn unauthorized(message: &str) -> Error {
    Error::Unauthorized {
        backend: BACKEND,
        message: format!("{message} (check the etcd user, password and client certificate)"),
    }
}

/// True when etcd says the lease does not exist (expired, revoked, or etcd lost its data).
pub(crate) fn is_lease_not_found(error: &etcd_client::Error) -> bool {
    match error {
        etcd_client::Error::LeaseKeepAliveError(message) => message.contains("not found"),
        other => grpc_status(other).is_some_and(|(code, message)| {
            code == Code::NotFound && message.contains("lease not found")
        }),
    }
}

/// True when etcd compacted the revision a read was pinned to.
pub(crate) fn is_compacted(error: &etcd_client::Error) -> bool {
    error
        .to_string()
        .contains("required revision has been compacted")
}

/// True when a response exceeded the client's message limit (tonic's 4 MiB).
pub(crate) fn is_too_large(error: &etcd_client::Error) -> bool {
    error.to_string().contains("message length too large")
}

/// An `Unavailable` error with a plain message (timeouts, closed streams).
pub(crate) fn unavailable(message: impl Into<String>) -> Error {
    Error::unavailable(BACKEND, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: tonic::Code, message: &str) -> etcd_client::Error {
        etcd_client::Error::GRpcStatus(tonic::Status::new(code, message))
    }

    #[test]
    fn refused_credentials_are_unauthorized() {
        for error in [
            status(
                tonic::Code::Unauthenticated,
                "etcdserver: invalid auth token",
            ),
            status(
                tonic::Code::PermissionDenied,
                "etcdserver: permission denied",
            ),
            status(
                tonic::Code::InvalidArgument,
                "etcdserver: authentication failed, invalid user ID or password",
            ),
            status(
                tonic::Code::InvalidArgument,
                "etcdserver: user name is empty",
            ),
        ] {
            let mapped = from_client(error);
            assert!(matches!(mapped, Error::Unauthorized { .. }), "{mapped}");
        }
    }

    #[test]
    fn unreachable_servers_are_unavailable_and_the_rest_is_backend() {
        let mapped = from_client(status(tonic::Code::Unavailable, "tcp connect error"));
        assert!(mapped.is_transient(), "{mapped}");
        let mapped = from_client(status(tonic::Code::DeadlineExceeded, "timeout"));
        assert!(mapped.is_transient(), "{mapped}");
        let mapped = from_client(status(
            tonic::Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
        ));
        assert!(matches!(mapped, Error::Backend { .. }), "{mapped}");
    }

    #[test]
    fn a_status_without_a_cause_shows_its_message_only() {
        let mapped = from_client(status(
            tonic::Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
        ));
        assert_eq!(
            mapped.to_string(),
            "etcd error: etcdserver: too many operations in txn request"
        );
        let mapped = from_client(status(tonic::Code::Unavailable, ""));
        assert_eq!(
            mapped.to_string(),
            "etcd is unavailable: The service is currently unavailable"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_line_naming_the_address() {
        // Nothing listens on port 1; the client may fail at connect or at the first call.
        let error = match etcd_client::Client::connect(["http://127.0.0.1:1"], None).await {
            Err(error) => error,
            Ok(mut client) => client.get("k", None).await.expect_err("port 1 refuses"),
        };
        let mapped = from_client(error);
        assert!(mapped.is_transient(), "{mapped}");
        assert_eq!(
            mapped.to_string(),
            "etcd is unavailable: 127.0.0.1:1: connection refused"
        );
        let source = std::error::Error::source(&mapped).expect("the cause is kept");
        assert!(
            source.source().is_some(),
            "the client's chain stays walkable"
        );
    }

    #[test]
    fn lease_not_found_is_recognised_in_both_forms() {
        let not_found = status(
            tonic::Code::NotFound,
            "etcdserver: requested lease not found",
        );
        assert!(is_lease_not_found(&not_found));
        let from_keeper = etcd_client::Error::LeaseKeepAliveError("lease not found".into());
        assert!(is_lease_not_found(&from_keeper));
        let other = status(tonic::Code::NotFound, "etcdserver: key not found");
        assert!(!is_lease_not_found(&other));
    }
}
