//! An in-process `metrics` recorder keeping counters only (the library records nothing else):
//! for the CLI's `--metrics`, for tests, and for applications that want the numbers without an
//! exporter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// The counters seen so far, by rendered name (`name{label="value"}`).
///
/// ```
/// use matchmaker_core::telemetry::{self, Counters};
///
/// let counters = Counters::global();
/// telemetry::lookup("memory");
/// assert!(counters.get(telemetry::LOOKUPS, "memory") >= 1);
/// ```
#[derive(Clone, Default)]
pub struct Counters {
    values: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Counters {
    /// The process-wide counters, installing their recorder on first use. When another
    /// `metrics` recorder was installed first, these stay at zero (and a warning says so).
    pub fn global() -> &'static Counters {
        static GLOBAL: OnceLock<Counters> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let counters = Counters::default();
            if metrics::set_global_recorder(CounterRecorder(counters.clone())).is_err() {
                tracing::warn!("another metrics recorder is installed; these counters stay at 0");
            }
            counters
        })
    }

    /// The value of counter `name` with label `backend`, 0 when it was never counted.
    pub fn get(&self, name: &str, backend: &str) -> u64 {
        let key = format!("{name}{{backend={backend:?}}}");
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values
            .get(&key)
            .map_or(0, |value| value.load(Ordering::Relaxed))
    }

    /// Every counter as `name{labels} value`, sorted by name.
    pub fn render(&self) -> String {
        let values = self.values.lock().unwrap_or_else(|p| p.into_inner());
        values
            .iter()
            .map(|(name, value)| format!("{name} {}\n", value.load(Ordering::Relaxed)))
            .collect()
    }
}

struct CounterRecorder(Counters);

fn rendered_name(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={:?}", label.key(), label.value()))
        .collect();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl Recorder for CounterRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut values = self.0.values.lock().unwrap_or_else(|p| p.into_inner());
        let value = values.entry(rendered_name(key)).or_default().clone();
        Counter::from_arc(value)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels_and_values() {
        let counters = Counters::default();
        let recorder = CounterRecorder(counters.clone());
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("demo_total", "backend" => "memory").increment(2);
            metrics::counter!("demo_total", "backend" => "memory").increment(1);
        });
        assert_eq!(counters.render(), "demo_total{backend=\"memory\"} 3\n");
        assert_eq!(counters.get("demo_total", "memory"), 3);
        assert_eq!(counters.get("demo_total", "etcd"), 0);
    }
}
