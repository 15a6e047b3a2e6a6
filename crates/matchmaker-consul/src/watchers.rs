//! The set of blocking-query loops of one backend: one per watched service name, plus the
//! catalog loop that `subscribe(None)` starts to discover new topics of the namespace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::cache::{CacheContext, TopicCache};
use crate::naming;

/// The loops of one backend; dropping the backend aborts them all.
pub(crate) struct Watchers {
    pub context: Arc<CacheContext>,
    caches: Mutex<HashMap<String, Arc<TopicCache>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    catalog_started: Mutex<bool>,
}

impl Watchers {
    pub fn new(context: Arc<CacheContext>) -> Arc<Self> {
        Arc::new(Watchers {
            context,
            caches: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            catalog_started: Mutex::new(false),
        })
    }

    fn caches(&self) -> MutexGuard<'_, HashMap<String, Arc<TopicCache>>> {
        self.caches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let mut tasks = self
                .tasks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            tasks.retain(|task| !task.is_finished());
            tasks.push(runtime.spawn(task));
        }
    }

    /// The cache of a service name, starting its loop on first use.
    pub fn cache_for(&self, name: &str) -> Arc<TopicCache> {
        let mut caches = self.caches();
        if let Some(cache) = caches.get(name) {
            return cache.clone();
        }
        let cache = TopicCache::new(name.to_owned());
        caches.insert(name.to_owned(), cache.clone());
        drop(caches);
        tracing::debug!(service = name, "consul lookup loop started");
        self.spawn(cache.clone().run(self.context.clone()));
        cache
    }

    /// Wakes every loop to re-query from index 0.
    pub fn reset_all(&self) {
        for cache in self.caches().values() {
            cache.reset();
        }
    }

    /// The oldest staleness among the caches, and how many there are.
    pub fn staleness(&self) -> (Option<Instant>, usize) {
        let caches = self.caches();
        let stale = caches
            .values()
            .filter_map(|cache| cache.snapshot().stale_since)
            .min();
        (stale, caches.len())
    }

    /// Starts (once) the catalog loop that watches every topic service of the namespace.
    pub fn watch_catalog(self: &Arc<Self>) {
        {
            let mut started = self
                .catalog_started
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if *started {
                return;
            }
            *started = true;
        }
        self.spawn(catalog_loop(Arc::downgrade(self)));
    }

    /// Aborts every loop.
    pub fn stop(&self) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

async fn catalog_loop(watchers: Weak<Watchers>) {
    let mut index = 0_u64;
    let mut failures = 0_u32;
    loop {
        let Some(strong) = watchers.upgrade() else {
            return;
        };
        let context = strong.context.clone();
        drop(strong);
        let tag = naming::namespace_tag(&context.namespace);
        let answer = context
            .client
            .catalog_services(Some((index, context.blocking_wait)))
            .await;
        let Some(strong) = watchers.upgrade() else {
            return;
        };
        match answer {
            Ok((services, new_index)) => {
                failures = 0;
                for (name, tags) in services {
                    if naming::is_topic_service_name(&name) && tags.contains(&tag) {
                        strong.cache_for(&name);
                    }
                }
                index = if new_index < index {
                    0
                } else {
                    new_index.max(1)
                };
            }
            Err(error) => {
                failures += 1;
                index = 0;
                if failures == 1 {
                    tracing::warn!(%error, "consul catalog watch failed; retrying");
                }
                drop(strong);
                tokio::time::sleep(Duration::from_millis(100 * u64::from(failures.min(20)))).await;
                continue;
            }
        }
        drop(strong);
        tokio::time::sleep(context.min_query_interval).await;
    }
}
