//! Exchanges reading a [`Ring`]: round-robin for bare topics, every host for fanouts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use matchmaker_core::key::{join, FANOUT_PREFIX};
use matchmaker_core::{Exchange, Result, Route, Routes};

use crate::Ring;

/// Hosts of `topic`, or `None` (with a warning) when the ring has none for it.
fn hosts_or_warn<'r>(ring: &'r Ring, topic: &str) -> Option<&'r [String]> {
    match ring.hosts(topic) {
        Some(hosts) if !hosts.is_empty() => Some(hosts),
        Some(_) => {
            tracing::warn!(
                topic,
                "the ring lists no host for this topic; see the ring file"
            );
            None
        }
        None => {
            tracing::warn!(
                topic,
                "no key defining hosts for this topic; see the ring file"
            );
            None
        }
    }
}

/// Bare topic `t`: the ring's hosts of `t` in turn, starting at the first, as `[("t.h", h)]`.
///
/// Unknown topics and empty host lists give `[]` and a tracing warning (the original raised
/// `StopIteration` on an empty list).
#[derive(Debug)]
pub struct RoundRobinRingExchange {
    ring: Arc<Ring>,
    /// Lookups served so far, per topic position in the ring.
    turns: Vec<AtomicUsize>,
}

impl RoundRobinRingExchange {
    /// An exchange cycling through `ring`'s hosts, each topic on its own turn.
    pub fn new(ring: Arc<Ring>) -> Self {
        let turns = (0..ring.len()).map(|_| AtomicUsize::new(0)).collect();
        RoundRobinRingExchange { ring, turns }
    }
}

#[async_trait]
impl Exchange for RoundRobinRingExchange {
    async fn run(&self, topic: &str) -> Result<Routes> {
        let (Some(hosts), Some(position)) =
            (hosts_or_warn(&self.ring, topic), self.ring.position(topic))
        else {
            return Ok(Routes::none());
        };
        let turn = self.turns[position].fetch_add(1, Ordering::Relaxed);
        let host = &hosts[turn % hosts.len()];
        Ok(Routes::one(Route::new(join(topic, host), host.as_str())))
    }
}

/// Fanout `fanout~t`: every host of `t` in ring order, as `("fanout~t.h", h)`; a host listed
/// twice is reached once, at its first place.
///
/// The topic is everything after the one leading `fanout~` (the original took the text between
/// the first and a second `fanout~`). Unknown topics and empty host lists give `[]` and a
/// tracing warning.
#[derive(Debug)]
pub struct FanoutRingExchange {
    ring: Arc<Ring>,
}

impl FanoutRingExchange {
    /// An exchange listing every host of `ring` for a topic.
    pub fn new(ring: Arc<Ring>) -> Self {
        FanoutRingExchange { ring }
    }
}

#[async_trait]
impl Exchange for FanoutRingExchange {
    async fn run(&self, key: &str) -> Result<Routes> {
        let topic = key.strip_prefix(FANOUT_PREFIX).unwrap_or(key);
        let Some(hosts) = hosts_or_warn(&self.ring, topic) else {
            return Ok(Routes::none());
        };
        let mut seen = std::collections::HashSet::with_capacity(hosts.len());
        Ok(hosts
            .iter()
            .filter(|host| seen.insert(host.as_str()))
            .map(|host| Route::new(join(key, host), host.as_str()))
            .collect())
    }
}
