//! The ordered rule list behind every matchmaker's `queues`.

use std::sync::{Arc, RwLock};

use crate::{Binding, Exchange, Result, Routes};

#[derive(Clone)]
struct Rule {
    binding: Arc<dyn Binding>,
    exchange: Arc<dyn Exchange>,
    last: bool,
}

/// An ordered list of `(binding, exchange, last)` rules.
///
/// `queues(key)` tries the rules in insertion order, appends the routes of every rule whose
/// binding matches, and stops after the first matching rule whose `last` is true. No matching
/// rule gives an empty list.
#[derive(Default)]
pub struct Rules {
    /// Swapped whole on `add` (rare), shared by every lookup (often): a lookup clones one
    /// `Arc`, not the list.
    rules: RwLock<Arc<[Rule]>>,
}

impl Rules {
    /// An empty rule list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a rule.
    pub fn add(&self, binding: Arc<dyn Binding>, exchange: Arc<dyn Exchange>, last: bool) {
        let mut rules = self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut grown = rules.to_vec();
        grown.push(Rule {
            binding,
            exchange,
            last,
        });
        *rules = grown.into();
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs the rules for `key`. The key is not validated here; callers validate first.
    ///
    /// Each exchange is asked [`Exchange::run_now`] first and awaited only when it must wait;
    /// one matching rule's routes are passed on as they are (a cache's shared list stays
    /// shared).
    pub async fn queues(&self, key: &str) -> Result<Routes> {
        // Work on a snapshot so no lock is held across an exchange's await.
        let rules = self.snapshot();
        let mut routes = Routes::none();
        for rule in rules.iter().filter(|rule| rule.binding.test(key)) {
            let found = match rule.exchange.run_now(key) {
                Some(found) => found?,
                None => rule.exchange.run(key).await?,
            };
            routes = routes.chain(found);
            if rule.last {
                break;
            }
        }
        Ok(routes)
    }

    fn snapshot(&self) -> Arc<[Rule]> {
        self.rules
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules").field("len", &self.len()).finish()
    }
}
