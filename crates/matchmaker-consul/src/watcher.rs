//! The one blocking query of a backend, `health/state/any` over its namespace, and the topic
//! caches it feeds.
//!
//! Whatever the number of topics looked up or subscribed to, a backend holds one watch
//! connection: each answer becomes a [`NamespaceView`] that every cache takes its topic's hosts
//! from. The loop starts with the first lookup or subscription, is rate-limited
//! (`min_query_interval`), restarts from index 0 when the index goes backwards or after an error,
//! and on errors marks every cache stale while keeping its hosts.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use matchmaker_core::{Error, MembershipSnapshot, Registration};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cache::{CacheContext, Members, TopicCache};
use crate::client::{ConsulClient, BACKEND};
use crate::namespace_view::{view_of, NamespaceView};
use crate::naming::{self, META_NAMESPACE, META_TOPIC};

/// The loop of one backend and its caches; dropping the backend aborts the loop.
pub(crate) struct Watchers {
    pub context: Arc<CacheContext>,
    /// The lane of direct reads: a hashed service name's topic (one query per new name), and
    /// the backend's `is_alive` and fallback lookups.
    pub lookups: ConsulClient,
    /// The cache of each topic looked up or watched (its service name is in the entry).
    caches: Mutex<HashMap<String, Arc<TopicCache>>>,
    /// The last answer and its index; None until the loop's first answer.
    latest: Mutex<Option<(Arc<NamespaceView>, u64)>>,
    /// Why the loop's last query failed, until one succeeds again.
    failing: Mutex<Option<String>>,
    /// Hashed names whose topic is being asked for.
    discovering: Mutex<HashSet<String>>,
    /// True once `subscribe(None)` asked for every topic of the namespace.
    watch_all: AtomicBool,
    /// True once the loop applied its first answer.
    answered: tokio::sync::watch::Sender<bool>,
    /// Wakes the loop to re-query from index 0 (after a re-registration).
    reset: Notify,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
}

impl Watchers {
    pub fn new(context: Arc<CacheContext>, lookups: ConsulClient) -> Arc<Self> {
        Arc::new(Watchers {
            context,
            lookups,
            caches: Mutex::new(HashMap::new()),
            latest: Mutex::new(None),
            failing: Mutex::new(None),
            discovering: Mutex::new(HashSet::new()),
            watch_all: AtomicBool::new(false),
            answered: tokio::sync::watch::Sender::new(false),
            reset: Notify::new(),
            tasks: Mutex::new(Vec::new()),
            started: AtomicBool::new(false),
        })
    }

    fn caches(&self) -> MutexGuard<'_, HashMap<String, Arc<TopicCache>>> {
        lock(&self.caches)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut tasks = lock(&self.tasks);
            tasks.retain(|task| !task.is_finished());
            tasks.push(runtime.spawn(task));
        }
    }

    /// Starts the namespace loop once.
    fn start(self: &Arc<Self>) {
        if !self.started.swap(true, Ordering::SeqCst) {
            tracing::debug!(namespace = %self.context.namespace, "consul namespace watch started");
            self.spawn(namespace_loop(Arc::downgrade(self)));
        }
    }

    /// The cache of `topic`'s service `name`, filled from the last answer if there is one and
    /// the watch is not failing: a topic first looked up during an outage gets the outage's
    /// error, never a list the watch could not confirm.
    pub fn cache_for(self: &Arc<Self>, name: &str, topic: &str) -> Arc<TopicCache> {
        self.start();
        let latest = lock(&self.latest).clone();
        let failing = lock(&self.failing).clone();
        let mut caches = self.caches();
        if let Some(cache) = caches.get(topic) {
            return cache.clone();
        }
        let cache = TopicCache::new(name.to_owned(), topic.to_owned());
        caches.insert(topic.to_owned(), cache.clone());
        drop(caches);
        match (failing, latest) {
            (Some(why), _) => self
                .context
                .mark_stale(&cache, &Error::unavailable(BACKEND, why)),
            (None, Some((view, index))) => {
                self.context
                    .apply(&cache, members(&cache, &view), index, true);
            }
            (None, None) => {}
        }
        cache
    }

    /// The cache of `topic` if there is one already: what every lookup after the first finds,
    /// without naming the service or touching the loop's state.
    pub fn cached(&self, topic: &str) -> Option<Arc<TopicCache>> {
        self.caches().get(topic).cloned()
    }

    /// Wakes the loop to re-query from index 0.
    pub fn reset_all(&self) {
        self.reset.notify_one();
    }

    /// The oldest staleness among the caches, how many there are, and the index of the last
    /// answer (0 before the first).
    pub fn staleness(&self) -> (Option<Instant>, usize, u64) {
        let index = lock(&self.latest).as_ref().map_or(0, |(_, index)| *index);
        let caches = self.caches();
        let stale = caches
            .values()
            .filter_map(|cache| cache.snapshot().stale_since)
            .min();
        (stale, caches.len(), index)
    }

    /// Watches every topic of the namespace from now on (for `subscribe(None)`).
    pub fn watch_catalog(self: &Arc<Self>) {
        if self.watch_all.swap(true, Ordering::SeqCst) {
            return;
        }
        self.start();
        let latest = lock(&self.latest).clone();
        if let Some((view, _)) = latest {
            self.adopt_new_names(&view);
        }
    }

    /// Turns true once the loop applied its first answer (and closes with the backend).
    pub fn answered(&self) -> tokio::sync::watch::Receiver<bool> {
        self.answered.subscribe()
    }

    /// The members of `cache` (of every cache when `None`) as a membership snapshot, read
    /// under the lock answers are applied under; metadata is left empty.
    pub fn snapshot(&self, cache: Option<&Arc<TopicCache>>) -> MembershipSnapshot {
        let _applying = self.context.lock();
        let caches: Vec<Arc<TopicCache>> = match cache {
            Some(cache) => vec![cache.clone()],
            None => self.caches().values().cloned().collect(),
        };
        let members = caches
            .iter()
            .flat_map(|cache| {
                let snapshot = cache.snapshot();
                let pairs: Vec<Registration> = snapshot
                    .members
                    .iter()
                    .flat_map(|(topic, hosts)| {
                        hosts.iter().map(move |host| Registration::new(topic, host))
                    })
                    .collect();
                pairs
            })
            .collect();
        self.context.hub.snapshot(members)
    }

    /// Aborts the loop and every topic discovery.
    pub fn stop(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }

    /// Hands one answer to every cache (and, when watching all, makes caches for new names).
    fn apply_view(self: &Arc<Self>, view: NamespaceView, index: u64, force: bool) {
        let view = Arc::new(view);
        *lock(&self.latest) = Some((view.clone(), index));
        *lock(&self.failing) = None;
        let caches: Vec<Arc<TopicCache>> = self.caches().values().cloned().collect();
        for cache in &caches {
            self.context
                .apply(cache, members(cache, &view), index, force);
        }
        self.answered.send_replace(true);
        if self.watch_all.load(Ordering::SeqCst) {
            self.adopt_new_names(&view);
        }
    }

    fn mark_all_stale(&self, error: &Error) {
        *lock(&self.failing) = Some(error.to_string());
        let caches: Vec<Arc<TopicCache>> = self.caches().values().cloned().collect();
        for cache in &caches {
            self.context.mark_stale(cache, error);
        }
    }

    /// Caches for the view's names that have none: a plain name says its topic; a hashed one
    /// is asked once (on the lookups lane) for the topic in its Meta.
    fn adopt_new_names(self: &Arc<Self>, view: &NamespaceView) {
        let namespace = self.context.namespace.clone();
        let new_names: Vec<String> = {
            let caches = self.caches();
            let known: HashSet<&str> = caches.values().map(|cache| cache.name.as_str()).collect();
            view.keys()
                .filter(|name| !known.contains(name.as_str()))
                .cloned()
                .collect()
        };
        for name in new_names {
            match naming::topic_of_service_name(&namespace, &name) {
                Some(topic) => {
                    self.cache_for(&name, &topic);
                }
                None => {
                    if lock(&self.discovering).insert(name.clone()) {
                        self.spawn(discover_topic(Arc::downgrade(self), name));
                    }
                }
            }
        }
    }
}

/// The hosts `view` gives `cache`'s topic.
fn members(cache: &TopicCache, view: &NamespaceView) -> Members {
    let mut members = Members::new();
    if let Some(hosts) = view.get(&cache.name).filter(|hosts| !hosts.is_empty()) {
        members.insert(cache.topic.clone(), hosts.clone());
    }
    members
}

/// Learns the topic of a hashed service name from one of its services' Meta.
async fn discover_topic(watchers: Weak<Watchers>, name: String) {
    let Some(strong) = watchers.upgrade() else {
        return;
    };
    let lookups = strong.lookups.clone();
    let namespace = strong.context.namespace.clone();
    drop(strong);
    let answer = lookups.health_service(&name, false, None).await;
    let Some(strong) = watchers.upgrade() else {
        return;
    };
    lock(&strong.discovering).remove(&name);
    let topic = match answer {
        Ok((entries, _)) => entries.iter().find_map(|entry| {
            (entry.meta(META_NAMESPACE) == Some(namespace.as_str()))
                .then(|| entry.meta(META_TOPIC).map(str::to_owned))
                .flatten()
        }),
        Err(error) => {
            tracing::warn!(service = %name, %error, "consul: could not read a hashed service name's topic; retrying with the next answer");
            None
        }
    };
    if let Some(topic) = topic {
        strong.cache_for(&name, &topic);
    }
}

async fn namespace_loop(watchers: Weak<Watchers>) {
    let mut index = 0_u64;
    let mut failures = 0_u32;
    loop {
        let started = Instant::now();
        let Some(strong) = watchers.upgrade() else {
            return;
        };
        let context = strong.context.clone();
        let tag = naming::namespace_tag(&context.namespace);
        let query = context
            .client
            .health_checks(&tag, Some((index, context.blocking_wait)));
        let outcome = tokio::select! {
            outcome = query => Some(outcome),
            () = strong.reset.notified() => None,
        };
        match outcome {
            None => {
                index = 0;
                continue;
            }
            Some(Ok((checks, new_index))) => {
                if failures > 0 {
                    matchmaker_core::telemetry::watch_restarted(BACKEND);
                    tracing::info!("consul namespace watch recovered");
                }
                failures = 0;
                // Consul's rule: an index that went backwards means "start over".
                let went_backwards = new_index < index;
                let view = view_of(&checks, &tag);
                strong.apply_view(view, new_index, went_backwards || index == 0);
                index = if went_backwards { 0 } else { new_index.max(1) };
                tracing::trace!(index, checks = checks.len(), "consul namespace refreshed");
            }
            Some(Err(error)) => {
                failures += 1;
                strong.mark_all_stale(&error);
                // The agent may have restarted with a fresh index: start over.
                index = 0;
                if failures == 1 {
                    tracing::warn!(%error, "consul namespace watch failed; serving the last known hosts");
                }
                drop(strong);
                let backoff = Duration::from_millis(100 * u64::from(failures.min(20)));
                tokio::time::sleep(backoff).await;
                continue;
            }
        }
        drop(strong);
        let elapsed = started.elapsed();
        if elapsed < context.min_query_interval {
            tokio::time::sleep(context.min_query_interval - elapsed).await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn members_of_a_name_with_no_live_host_are_empty_not_absent_topic_hosts() {
        let cache = TopicCache::new("mm-p--t".into(), "t".into());
        let mut view = NamespaceView::new();
        view.insert("mm-p--t".into(), BTreeSet::new());
        assert!(members(&cache, &view).is_empty());
        view.insert("mm-p--t".into(), BTreeSet::from(["a".to_string()]));
        assert_eq!(
            members(&cache, &view).get("t"),
            Some(&BTreeSet::from(["a".to_string()]))
        );
    }
}
