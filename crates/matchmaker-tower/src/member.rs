//! [`Member`]: one host serving a topic, what a service is made from.

use std::fmt;
use std::sync::Arc;

use matchmaker_core::Metadata;

/// One host serving a topic: what [`crate::Discovery`] and [`crate::directed`] hand to the
/// function that makes a service.
///
/// `#[non_exhaustive]`: build one with [`Member::new`] (and [`Member::with_metadata`]) and
/// read its fields by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Member {
    /// The topic the host serves, e.g. `echo`.
    pub topic: String,
    /// The registered host, e.g. `127.0.0.1:7001` (the key the balancer knows it by).
    pub host: String,
    /// The metadata the host registered with (`Registry::register_with`), e.g. a zone or a
    /// weight; empty when it has none.
    pub metadata: Arc<Metadata>,
}

impl Member {
    /// The member `host` of `topic`.
    pub fn new(topic: impl Into<String>, host: impl Into<String>) -> Self {
        Member {
            topic: topic.into(),
            host: host.into(),
            metadata: Arc::default(),
        }
    }

    /// The same member carrying `metadata`.
    pub fn with_metadata(mut self, metadata: Arc<Metadata>) -> Self {
        self.metadata = metadata;
        self
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} @ {}", self.topic, self.host)
    }
}
