//! [`Member`]: one host serving a topic, what a service is made from.

use std::fmt;

/// One host serving a topic: what [`crate::Discovery`] and [`crate::directed`] hand to the
/// function that makes a service.
///
/// `#[non_exhaustive]`: registration metadata will be added as fields, so build one with
/// [`Member::new`] and read its fields by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Member {
    /// The topic the host serves, e.g. `echo`.
    pub topic: String,
    /// The registered host, e.g. `127.0.0.1:7001` (the key the balancer knows it by).
    pub host: String,
}

impl Member {
    /// The member `host` of `topic`.
    pub fn new(topic: impl Into<String>, host: impl Into<String>) -> Self {
        Member {
            topic: topic.into(),
            host: host.into(),
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} @ {}", self.topic, self.host)
    }
}
