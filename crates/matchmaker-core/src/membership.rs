//! Membership change events for backends that can watch their registry.

use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;

use crate::Metadata;

/// A host joined or left a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEvent {
    /// `host` now serves `topic`.
    Joined {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
        /// The registration's metadata as the registry held it when the host joined (empty
        /// when it has none). A later registration of the same pair that only changes the
        /// metadata is no new join: `list` shows it.
        metadata: Arc<Metadata>,
    },
    /// `host` no longer serves `topic` (unregistered, expired or its lease was lost).
    Left {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
    },
}

impl MembershipEvent {
    /// `host` joined `topic`, carrying `metadata`.
    pub fn joined(
        topic: impl Into<String>,
        host: impl Into<String>,
        metadata: Arc<Metadata>,
    ) -> Self {
        Self::Joined {
            topic: topic.into(),
            host: host.into(),
            metadata,
        }
    }

    /// `host` left `topic`.
    pub fn left(topic: impl Into<String>, host: impl Into<String>) -> Self {
        Self::Left {
            topic: topic.into(),
            host: host.into(),
        }
    }

    /// The topic the event is about.
    pub fn topic(&self) -> &str {
        match self {
            Self::Joined { topic, .. } | Self::Left { topic, .. } => topic,
        }
    }

    /// The host the event is about.
    pub fn host(&self) -> &str {
        match self {
            Self::Joined { host, .. } | Self::Left { host, .. } => host,
        }
    }
}

/// A stream of membership changes; it ends when the backend is dropped.
pub type MembershipStream = Pin<Box<dyn Stream<Item = MembershipEvent> + Send>>;
