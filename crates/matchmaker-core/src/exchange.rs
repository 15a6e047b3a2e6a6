//! Exchanges: turn a key into `(queue, host)` routes.

use async_trait::async_trait;

use crate::{Result, Route, Routes};

/// Implements a lookup: turns a key into the routes to send to.
///
/// # Behaviour
/// - [`StubExchange`] returns `[(key, None)]`.
/// - [`LocalhostExchange`] returns `[(text before the first '.' + "." + host, host)]`.
/// - [`DirectExchange`] returns `[(key, text after the first '.')]`.
/// - An exchange is only run on keys its rule's binding matched and that passed
///   [`crate::key::parse_key`].
#[async_trait]
pub trait Exchange: Send + Sync {
    /// The routes for `key`; an empty list means nobody serves it.
    async fn run(&self, key: &str) -> Result<Routes>;

    /// The same routes as [`Self::run`] if they can be had without waiting (from memory);
    /// `None` (the default) sends the lookup to `run`. A lookup tries this first, so an
    /// exchange reading a cache answers without allocating a future.
    fn run_now(&self, key: &str) -> Option<Result<Routes>> {
        let _ = key;
        None
    }
}

/// Returns the key untouched, with no host.
#[derive(Debug, Clone, Copy, Default)]
pub struct StubExchange;

#[async_trait]
impl Exchange for StubExchange {
    async fn run(&self, key: &str) -> Result<Routes> {
        Ok(Routes::one(Route::hostless(key)))
    }
}

/// Sends everything to one fixed host.
#[derive(Debug, Clone)]
pub struct LocalhostExchange {
    host: String,
}

impl LocalhostExchange {
    /// An exchange routing to `host`.
    pub fn new(host: impl Into<String>) -> Self {
        LocalhostExchange { host: host.into() }
    }

    /// The host every key is routed to.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl Default for LocalhostExchange {
    /// Routes to `localhost`, as the original did.
    fn default() -> Self {
        LocalhostExchange::new("localhost")
    }
}

#[async_trait]
impl Exchange for LocalhostExchange {
    async fn run(&self, key: &str) -> Result<Routes> {
        let topic = key.split_once('.').map_or(key, |(topic, _)| topic);
        Ok(Routes::one(Route::new(
            crate::key::join(topic, &self.host),
            self.host.clone(),
        )))
    }
}

/// Sends `topic.host` to `host`: the text after the first `.`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirectExchange;

#[async_trait]
impl Exchange for DirectExchange {
    async fn run(&self, key: &str) -> Result<Routes> {
        Ok(match key.split_once('.') {
            Some((_, host)) => Routes::one(Route::new(key, host)),
            None => Routes::none(),
        })
    }
}
