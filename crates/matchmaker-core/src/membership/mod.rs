//! Membership streams for backends that can watch their registry: the events, and the hub
//! every backend hands its streams out through.

mod changes;
mod hub;
mod table;

use std::pin::Pin;
use std::sync::Arc;

use futures_core::Stream;

use crate::{Metadata, Registration};

pub use changes::membership_changes;
pub use hub::{MembershipHub, MembershipSnapshot, SUBSCRIBER_BUFFER};
pub use table::MembershipTable;

/// What a membership stream yields: first the current membership, then each host that joined
/// or left a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipEvent {
    /// Every registration of the subscribed topic (of every topic when subscribed to all) at one
    /// moment, sorted by topic and host: the first item of every stream, and again after a lag.
    /// The joins and leaves that follow are the changes since that moment, with no gap: replace
    /// what you knew with `members`.
    Snapshot {
        /// The registrations, each with its metadata.
        members: Vec<Registration>,
        /// True when this snapshot replaces events the subscriber fell too far behind to receive
        /// ([`SUBSCRIBER_BUFFER`]); false for a stream's first item.
        lagged: bool,
    },
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

    /// The topic a join or leave is about (`None` for a snapshot).
    pub fn topic(&self) -> Option<&str> {
        match self {
            Self::Joined { topic, .. } | Self::Left { topic, .. } => Some(topic),
            Self::Snapshot { .. } => None,
        }
    }

    /// The host a join or leave is about (`None` for a snapshot).
    pub fn host(&self) -> Option<&str> {
        match self {
            Self::Joined { host, .. } | Self::Left { host, .. } => Some(host),
            Self::Snapshot { .. } => None,
        }
    }
}

/// A stream of membership: a [`MembershipEvent::Snapshot`], then changes; it ends when the
/// backend is dropped.
pub type MembershipStream = Pin<Box<dyn Stream<Item = MembershipEvent> + Send>>;
