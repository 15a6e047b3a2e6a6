//! Telling a connection the agent closed from other transport failures, and saying once why the
//! agent may be closing them.

use std::error::Error as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// True once the hint about the agent's connection limit was logged (once per process).
static LIMIT_HINT_LOGGED: AtomicBool = AtomicBool::new(false);

/// True when the connection broke under the request (the agent closed a pooled connection, or
/// accepted one and closed it at once): hyper's `IncompleteMessage`, a reset or a broken pipe.
/// Nothing was answered, so an idempotent request may be sent again.
pub(crate) fn is_closed_connection(error: &reqwest::Error) -> bool {
    if error.is_timeout() || error.is_status() || error.is_decode() || error.is_builder() {
        return false;
    }
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        let text = cause.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("IncompleteMessage")
            || text.contains("connection reset")
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Logs once, at warn, that the agent is closing connections and which setting limits them.
pub(crate) fn warn_if_refused_by_agent(error: &reqwest::Error, lane: &str) {
    if !is_closed_connection(error) || LIMIT_HINT_LOGGED.swap(true, Ordering::Relaxed) {
        return;
    }
    tracing::warn!(
        lane,
        %error,
        "the Consul agent closed our connection twice in a row; the likely cause is its \
         limits.http_max_conns_per_client (default 200), which counts every connection from \
         this host's address, all processes together. Raise it in the agent's configuration \
         (limits {{ http_max_conns_per_client = 1000 }}), or run fewer processes per agent: \
         each matchmaker holds at most {} connections. Lookups keep serving the last known \
         hosts meanwhile.",
        crate::client::MAX_AGENT_CONNECTIONS
    );
}
