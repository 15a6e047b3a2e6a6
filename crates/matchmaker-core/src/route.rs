//! The `(queue, host)` pair a lookup returns.

use std::fmt;

/// One destination returned by a lookup: the queue to send to and, when known, its host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// The queue name, e.g. `scheduler.node1` or `fanout~scheduler.node1`.
    pub queue: String,
    /// The host that serves the queue, when the exchange knows it.
    pub host: Option<String>,
}

impl Route {
    /// A route to `queue` on `host`.
    pub fn new(queue: impl Into<String>, host: impl Into<String>) -> Self {
        Route {
            queue: queue.into(),
            host: Some(host.into()),
        }
    }

    /// A route to `queue` with no host (what the stub exchange returns).
    pub fn hostless(queue: impl Into<String>) -> Self {
        Route {
            queue: queue.into(),
            host: None,
        }
    }
}

impl<Q: Into<String>, H: Into<String>> From<(Q, Option<H>)> for Route {
    fn from((queue, host): (Q, Option<H>)) -> Self {
        Route {
            queue: queue.into(),
            host: host.map(Into::into),
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(host) => write!(f, "{} @ {}", self.queue, host),
            None => f.write_str(&self.queue),
        }
    }
}
