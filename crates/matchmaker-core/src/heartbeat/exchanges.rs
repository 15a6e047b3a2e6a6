//! Exchanges that read live hosts from a heartbeat backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{HostDirectory, LiveTopic, Strategy};
use crate::key::FANOUT_PREFIX;
use crate::{Exchange, Result, Routes};

/// Bare topic `t`: one live host `h` by the strategy, as `[("t.h", h)]`; none: `[]`. The route
/// is a clone of the one the topic's [`LiveTopic`] holds: no string is copied.
pub struct LiveTopicExchange {
    directory: Arc<dyn HostDirectory>,
    strategy: Strategy,
    next_index: Mutex<HashMap<String, usize>>,
}

impl LiveTopicExchange {
    /// An exchange picking from `directory`'s live hosts with `strategy`.
    pub fn new(directory: Arc<dyn HostDirectory>, strategy: Strategy) -> Self {
        LiveTopicExchange {
            directory,
            strategy,
            next_index: Mutex::new(HashMap::new()),
        }
    }

    fn pick(&self, topic: &str, count: usize) -> usize {
        match self.strategy {
            Strategy::Random => fastrand::usize(..count),
            Strategy::RoundRobin => {
                let mut next = self
                    .next_index
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let slot = match next.get_mut(topic) {
                    Some(slot) => slot,
                    None => next.entry(topic.to_owned()).or_insert(0),
                };
                let index = *slot % count;
                *slot = index + 1;
                index
            }
        }
    }

    fn route(&self, live: &LiveTopic) -> Routes {
        if live.is_empty() {
            return Routes::none();
        }
        let index = self.pick(live.topic(), live.len());
        live.route_to(index).map_or_else(Routes::none, Routes::one)
    }
}

#[async_trait]
impl Exchange for LiveTopicExchange {
    async fn run(&self, topic: &str) -> Result<Routes> {
        Ok(self.route(&*self.directory.live_topic(topic).await?))
    }

    fn run_now(&self, topic: &str) -> Option<Result<Routes>> {
        let live = self.directory.live_topic_now(topic)?;
        Some(live.map(|live| self.route(&live)))
    }
}

/// Fanout `fanout~t`: every live host `h`, in stable order, as `("fanout~t.h", h)`: the
/// topic's shared route list, whatever its length.
pub struct LiveFanoutExchange {
    directory: Arc<dyn HostDirectory>,
}

impl LiveFanoutExchange {
    /// An exchange listing every live host of `directory`.
    pub fn new(directory: Arc<dyn HostDirectory>) -> Self {
        LiveFanoutExchange { directory }
    }
}

#[async_trait]
impl Exchange for LiveFanoutExchange {
    async fn run(&self, key: &str) -> Result<Routes> {
        Ok(self.directory.live_topic(fanned_topic(key)).await?.fanout())
    }

    fn run_now(&self, key: &str) -> Option<Result<Routes>> {
        let live = self.directory.live_topic_now(fanned_topic(key))?;
        Some(live.map(|live| live.fanout()))
    }
}

/// The topic a fanout key `fanout~t` reaches: `t`.
fn fanned_topic(key: &str) -> &str {
    key.strip_prefix(FANOUT_PREFIX).unwrap_or(key)
}
