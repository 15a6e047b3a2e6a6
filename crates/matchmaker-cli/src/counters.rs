//! `--metrics`: count the library's telemetry counters in-process and print them at exit.
//!
//! A minimal `metrics` recorder keeping counters only (the library records nothing else);
//! the names are documented in `matchmaker_core::telemetry`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// The counters seen so far, by rendered name (`name{label="value"}`).
#[derive(Clone, Default)]
pub struct Counters {
    values: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Counters {
    /// Installs a recorder feeding these counters as the process-wide one.
    pub fn install() -> Counters {
        let counters = Counters::default();
        if metrics::set_global_recorder(CounterRecorder(counters.clone())).is_err() {
            tracing::warn!("a metrics recorder is already installed; --metrics shows nothing");
        }
        counters
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
    }
}
