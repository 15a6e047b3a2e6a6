//! Counts tracing warnings emitted on the current thread, to prove a warning was logged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing::subscriber::DefaultGuard;
use tracing::{span, Event, Level, Metadata, Subscriber};

/// Counts `WARN` events while installed as this thread's default subscriber.
pub struct WarningCounter {
    count: Arc<AtomicUsize>,
    _guard: DefaultGuard,
}

impl WarningCounter {
    /// Installs a counter for the current thread (the current-thread test runtime's thread).
    pub fn install() -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        let guard = tracing::subscriber::set_default(Counting(count.clone()));
        WarningCounter {
            count,
            _guard: guard,
        }
    }

    /// How many warnings were emitted so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

struct Counting(Arc<AtomicUsize>);

impl Subscriber for Counting {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}
