//! Membership change events for backends that can watch their registry.

use std::pin::Pin;

use futures_core::Stream;

/// A host joined or left a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEvent {
    /// `host` now serves `topic`.
    Joined {
        /// The topic.
        topic: String,
        /// The host.
        host: String,
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
