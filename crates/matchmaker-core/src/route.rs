//! The `(queue, host)` pair a lookup returns.

use std::fmt;
use std::sync::Arc;

/// One destination returned by a lookup: the queue to send to and, when known, its host.
///
/// Both names are shared strings: a registry backend builds a topic's routes once per
/// membership change and every lookup hands out clones of them, so a route costs no copy.
/// Compare them as text with `&*route.queue == "t.h"` or `route.host.as_deref()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    /// The queue name, e.g. `scheduler.node1` or `fanout~scheduler.node1`.
    pub queue: Arc<str>,
    /// The host that serves the queue, when the exchange knows it.
    pub host: Option<Arc<str>>,
}

impl Route {
    /// A route to `queue` on `host`.
    pub fn new(queue: impl Into<Arc<str>>, host: impl Into<Arc<str>>) -> Self {
        Route {
            queue: queue.into(),
            host: Some(host.into()),
        }
    }

    /// A route to `queue` with no host (what the stub exchange returns).
    pub fn hostless(queue: impl Into<Arc<str>>) -> Self {
        Route {
            queue: queue.into(),
            host: None,
        }
    }

    /// The queue name as text.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The host as text, when known.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

impl<Q: Into<Arc<str>>, H: Into<Arc<str>>> From<(Q, Option<H>)> for Route {
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
