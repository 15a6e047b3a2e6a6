//! Exchanges that read live hosts from a heartbeat backend.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{HostDirectory, Strategy};
use crate::key::{join, FANOUT_PREFIX};
use crate::{Exchange, Result, Route};

/// Bare topic `t`: one live host `h` by the strategy, as `[("t.h", h)]`; none: `[]`.
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
                let slot = next.entry(topic.to_owned()).or_insert(0);
                let index = *slot % count;
                *slot = index + 1;
                index
            }
        }
    }
}

#[async_trait]
impl Exchange for LiveTopicExchange {
    async fn run(&self, topic: &str) -> Result<Vec<Route>> {
        let choose = |count: usize| self.pick(topic, count);
        Ok(match self.directory.live_host(topic, &choose).await? {
            Some(host) => vec![Route::new(join(topic, &host), host)],
            None => Vec::new(),
        })
    }
}

/// Fanout `fanout~t`: every live host `h`, in stable order, as `("fanout~t.h", h)`.
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
    async fn run(&self, key: &str) -> Result<Vec<Route>> {
        let topic = key.strip_prefix(FANOUT_PREFIX).unwrap_or(key);
        let hosts = self.directory.live_hosts(topic).await?;
        Ok(hosts
            .into_iter()
            .map(|host| Route::new(join(key, &host), host))
            .collect())
    }
}
