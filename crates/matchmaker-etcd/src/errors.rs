//! Turning etcd-client failures into the core error kinds.

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
                Error::unavailable(BACKEND, error)
            }
            _ => Error::backend(BACKEND, error),
        };
    }
    match error {
        E::TransportError(_) | E::IoError(_) | E::LeaseKeepAliveError(_) | E::WatchError(_) => {
            Error::unavailable(BACKEND, error)
        }
        other => Error::backend(BACKEND, other),
    }
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
