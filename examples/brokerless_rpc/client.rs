//! The client: asks the matchmaker where to send, then talks to workers directly.

use matchmaker::{Registry, Route};

use super::wire::{request, Pattern};

/// What happened to one message sent to one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The worker (registered host) it was routed to.
    pub worker: String,
    /// The reply, or why there was none.
    pub outcome: Result<String, String>,
}

/// Sends messages for one topic, routed by the matchmaker.
pub struct Client<'a> {
    /// The matchmaker lookups go to.
    pub matchmaker: &'a dyn Registry,
    /// The topic the workers serve.
    pub topic: String,
}

impl Client<'_> {
    /// Cast: one worker of the topic, picked by the matchmaker (random by default).
    pub async fn cast(&self, body: &str) -> matchmaker::Result<Option<Delivery>> {
        let routes = self.matchmaker.queues(&self.topic).await?;
        Ok(match routes.first().and_then(Route::host) {
            Some(worker) => Some(send(worker.to_owned(), Pattern::Cast, body).await),
            None => None,
        })
    }

    /// Call: the worker `host` by its directed key `topic.host`, if it is alive.
    pub async fn call(&self, host: &str, body: &str) -> matchmaker::Result<Option<Delivery>> {
        // A directed key routes to its host whether or not it is alive; ask first so a dead
        // worker is not dialled once its registration has expired.
        if !self.matchmaker.is_alive(&self.topic, host).await? {
            return Ok(None);
        }
        let key = format!("{}.{host}", self.topic);
        let routes = self.matchmaker.queues(&key).await?;
        Ok(match routes.first().and_then(Route::host) {
            Some(worker) => Some(send(worker.to_owned(), Pattern::Call, body).await),
            None => None,
        })
    }

    /// Fanout: every live worker of the topic, `fanout~topic`, concurrently.
    pub async fn fanout(&self, body: &str) -> matchmaker::Result<Vec<Delivery>> {
        let routes = self
            .matchmaker
            .queues(&format!("{}{}", matchmaker::key::FANOUT_PREFIX, self.topic))
            .await?;
        let sends = routes
            .hosts()
            .map(|worker| send(worker.to_owned(), Pattern::Fanout, body));
        Ok(futures_util::future::join_all(sends).await)
    }

    /// The workers a fanout would reach right now.
    pub async fn workers(&self) -> matchmaker::Result<Vec<String>> {
        let routes = self
            .matchmaker
            .queues(&format!("{}{}", matchmaker::key::FANOUT_PREFIX, self.topic))
            .await?;
        Ok(routes.hosts().map(str::to_owned).collect())
    }
}

async fn send(worker: String, pattern: Pattern, body: &str) -> Delivery {
    let outcome = match request(&worker, pattern, body).await {
        Ok(reply) => Ok(reply["reply"].as_str().unwrap_or_default().to_owned()),
        Err(error) => Err(error.to_string()),
    };
    Delivery { worker, outcome }
}

/// One line for people: `-> worker: reply` or `-> worker: UNREACHABLE (why)`.
pub fn describe(delivery: &Delivery) -> String {
    match &delivery.outcome {
        Ok(reply) => format!("-> {}: {reply}", delivery.worker),
        Err(error) => format!("-> {}: UNREACHABLE ({error})", delivery.worker),
    }
}
