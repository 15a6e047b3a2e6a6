//! Benchmark support: timing samples and the printed table. Every figure is shown as a ratio to
//! a baseline measured in the same run, because absolute times on a shared machine mean little.
//! Used by the etcd and Consul benches (`cargo xtask bench`).

use std::future::Future;
use std::time::{Duration, Instant};

/// What a measured operation can fail with (setup or the operation itself).
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Durations of one operation, sorted.
#[derive(Debug, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    /// Sorts `durations` (at least one).
    pub fn new(mut durations: Vec<Duration>) -> Self {
        durations.sort_unstable();
        Samples(durations)
    }

    /// How many operations were timed.
    pub fn count(&self) -> usize {
        self.0.len()
    }

    /// The 50th percentile.
    pub fn median(&self) -> Duration {
        self.percentile(50)
    }

    /// The 99th percentile (nearest rank).
    pub fn p99(&self) -> Duration {
        self.percentile(99)
    }

    /// Each sample divided by `items`: samples of batches of `items` operations as samples of
    /// one operation.
    pub fn per_item(&self, items: u32) -> Samples {
        Samples(self.0.iter().map(|sample| *sample / items.max(1)).collect())
    }

    /// Sum of every sample: the wall time spent in the operation.
    pub fn total(&self) -> Duration {
        self.0.iter().sum()
    }

    fn percentile(&self, percent: usize) -> Duration {
        let rank = (self.0.len() * percent).div_ceil(100).max(1);
        self.0.get(rank - 1).copied().unwrap_or_default()
    }
}

/// Times `candidate` and `baseline` alternately, `iterations` times each (fewer if `budget` runs
/// out), so noise from other processes hits both sides alike.
pub async fn interleaved(
    iterations: usize,
    budget: Duration,
    mut candidate: impl AsyncFnMut(usize) -> BenchResult<()>,
    mut baseline: impl AsyncFnMut(usize) -> BenchResult<()>,
) -> BenchResult<(Samples, Samples)> {
    let started = Instant::now();
    let mut candidate_times = Vec::with_capacity(iterations);
    let mut baseline_times = Vec::with_capacity(iterations);
    for iteration in 0..iterations {
        if iteration > 0 && started.elapsed() > budget {
            eprintln!(
                "time budget of {budget:?} used after {iteration} of {iterations} iterations"
            );
            break;
        }
        // Alternate which side goes first, so neither always runs right after the other.
        if iteration % 2 == 0 {
            candidate_times.push(timed(candidate(iteration)).await?);
            baseline_times.push(timed(baseline(iteration)).await?);
        } else {
            baseline_times.push(timed(baseline(iteration)).await?);
            candidate_times.push(timed(candidate(iteration)).await?);
        }
    }
    Ok((Samples::new(candidate_times), Samples::new(baseline_times)))
}

/// How long `operation` took (its error, if it failed).
pub async fn timed(operation: impl Future<Output = BenchResult<()>>) -> BenchResult<Duration> {
    let started = Instant::now();
    operation.await?;
    Ok(started.elapsed())
}

/// How long `calls` take when all run at once; the first error fails the round.
pub async fn timed_concurrently<T, E>(
    calls: impl IntoIterator<Item = impl Future<Output = Result<T, E>>>,
) -> BenchResult<Duration>
where
    E: std::error::Error + 'static,
{
    timed(async {
        futures_util::future::try_join_all(calls).await?;
        Ok(())
    })
    .await
}

/// Hosts per topic of the lookup scale curve.
pub const LOOKUP_SCALE_HOSTS: [usize; 4] = [1, 10, 100, 1000];

/// Samples of each kind per size, lookups per sample (timed together, so the timer's own cost
/// is spread over them), and lookups whose allocations are counted after them.
const LOOKUP_ITERATIONS: usize = 500;
const LOOKUPS_PER_SAMPLE: u32 = 100;
const LOOKUP_COUNTED: usize = 1000;
const LOOKUP_BUDGET: Duration = Duration::from_secs(5);

/// The topic of the lookup scale curve that has `hosts` hosts.
pub fn lookup_scale_topic(hosts: usize) -> String {
    format!("scale-{hosts}")
}

/// Registers `hosts` hosts (`host-0000`, ...) for `topic` with one `register_many`, then waits
/// (at most 10 s) until `registry`'s own fanout lookup lists them all.
async fn register_scale_topic<R: matchmaker_core::Registry + ?Sized>(
    registry: &R,
    topic: &str,
    hosts: usize,
) -> BenchResult<()> {
    let names: Vec<String> = (0..hosts).map(|index| format!("host-{index:04}")).collect();
    let pairs: Vec<(&str, &str)> = names.iter().map(|host| (topic, host.as_str())).collect();
    registry.register_many(&pairs).await?;
    let fanout = format!("fanout~{topic}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = registry.queues(&fanout).await?.len();
        if found == hosts {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{topic}: {found} of {hosts} hosts listed after 10 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The two rows of one size of the lookup scale curve: registers `hosts` hosts for
/// [`lookup_scale_topic`]`(hosts)` and waits until `registry` lists them, then times a
/// bare-topic lookup (`queues(topic)`, one host chosen) and a fanout (`queues("fanout~topic")`,
/// every host), each alternately with `raw` (one raw read of that topic's registrations,
/// described by `baseline`). A lookup sample is the mean of 100 lookups in a
/// row, as a bench harness times sub-microsecond work; the row says so. Each row's label gives
/// the heap allocations one lookup makes, counted on this thread by
/// [`crate::allocations::Counting`] (which the bench binary must install).
pub async fn lookup_scale_rows<R: matchmaker_core::Registry + ?Sized>(
    registry: &R,
    hosts: usize,
    baseline: &str,
    mut raw: impl AsyncFnMut(usize) -> BenchResult<()>,
) -> BenchResult<Vec<Comparison>> {
    if !crate::allocations::installed() {
        return Err("the bench binary must install allocations::Counting".into());
    }
    let topic = lookup_scale_topic(hosts);
    register_scale_topic(registry, &topic, hosts).await?;
    let fanout = format!("fanout~{topic}");
    let mut rows = Vec::new();
    for (key, kind) in [(topic.as_str(), "bare"), (fanout.as_str(), "fanout")] {
        let (measured, reference) = interleaved(
            LOOKUP_ITERATIONS,
            LOOKUP_BUDGET,
            async |_| {
                for _ in 0..LOOKUPS_PER_SAMPLE {
                    std::hint::black_box(registry.queues(key).await?);
                }
                Ok(())
            },
            &mut raw,
        )
        .await?;
        let measured = measured.per_item(LOOKUPS_PER_SAMPLE);
        let before = crate::allocations::allocations_here();
        for _ in 0..LOOKUP_COUNTED {
            std::hint::black_box(registry.queues(key).await?);
        }
        let made = crate::allocations::allocations_here() - before;
        let per_lookup = made as f64 / LOOKUP_COUNTED as f64;
        rows.push(Comparison {
            operation: format!(
                "lookup scale: {kind} queues(), {hosts} hosts (mean of {LOOKUPS_PER_SAMPLE}; {per_lookup} allocations)"
            ),
            baseline: baseline.to_owned(),
            short: format!("a {kind} lookup at {hosts} hosts"),
            measured,
            reference,
        });
    }
    Ok(rows)
}

/// One measured operation and the baseline it is judged against.
#[derive(Debug)]
pub struct Comparison {
    /// What the matchmaker does, e.g. `lookup: queues("fanout~t") from the cache`.
    pub operation: String,
    /// What the baseline does, e.g. `raw prefix Range`.
    pub baseline: String,
    /// Short noun for the summary sentence, e.g. `cache lookup`.
    pub short: String,
    /// Samples of the operation.
    pub measured: Samples,
    /// Samples of the baseline.
    pub reference: Samples,
}

impl Comparison {
    /// Median of the operation divided by the median of the baseline.
    pub fn ratio(&self) -> f64 {
        ratio(self.measured.median(), self.reference.median())
    }

    /// `cache lookup is 0.0123x of raw prefix Range (81x faster)`.
    pub fn sentence(&self) -> String {
        let ratio = self.ratio();
        let speed = if ratio <= 0.0 {
            "immeasurably faster".to_string()
        } else if ratio < 1.0 {
            format!("{:.0}x faster", 1.0 / ratio)
        } else {
            format!("{ratio:.1}x slower")
        };
        format!(
            "{} is {} of {} ({speed}, medians)",
            self.short,
            format_ratio(ratio),
            self.baseline
        )
    }
}

/// Prints the table, then one sentence per comparison.
pub fn print(title: &str, comparisons: &[Comparison]) {
    println!("\n{title}");
    println!(
        "{:<58} {:>6} {:>10} {:>10} {:>10} {:>9}",
        "operation", "n", "median", "p99", "total", "ratio"
    );
    for comparison in comparisons {
        row(
            &comparison.operation,
            &comparison.measured,
            comparison.ratio(),
        );
        row(
            &format!("  baseline: {}", comparison.baseline),
            &comparison.reference,
            1.0,
        );
    }
    println!();
    for comparison in comparisons {
        println!("{}", comparison.sentence());
    }
}

fn row(label: &str, samples: &Samples, ratio: f64) {
    println!(
        "{label:<58} {:>6} {:>10} {:>10} {:>10} {:>9}",
        samples.count(),
        format_duration(samples.median()),
        format_duration(samples.p99()),
        format_duration(samples.total()),
        format_ratio(ratio)
    );
}

fn ratio(measured: Duration, reference: Duration) -> f64 {
    if reference.is_zero() {
        return f64::INFINITY;
    }
    measured.as_secs_f64() / reference.as_secs_f64()
}

fn format_ratio(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}x")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.4}x")
    }
}

fn format_duration(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1.0 {
        format!("{} ns", duration.as_nanos())
    } else if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// The `main` of a `harness = false` bench that needs a throwaway server.
///
/// Outside `cargo bench` (no `--bench` argument) it measures nothing and exits at once. It then
/// starts the server with `start`; when that fails it skips, or fails when
/// [`crate::required()`]. Finally `measure` runs the comparisons against the server and returns
/// the table's title with them, which are printed.
pub fn main<S>(
    bench: &str,
    start: impl FnOnce() -> Result<S, crate::TestkitError>,
    measure: impl FnOnce(&S) -> BenchResult<(String, Vec<Comparison>)>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    if !std::env::args().any(|argument| argument == "--bench") {
        println!("{bench}: measures only under `cargo bench` (try `cargo xtask bench`)");
        return ExitCode::SUCCESS;
    }
    let server = match start() {
        Ok(server) => server,
        Err(error) if crate::required() => {
            eprintln!("{bench}: the server is required but could not start: {error}");
            return ExitCode::FAILURE;
        }
        Err(error) => {
            eprintln!("{bench}: skipped, no server: {error}");
            return ExitCode::SUCCESS;
        }
    };
    match measure(&server) {
        Ok((title, comparisons)) => {
            print(&title, &comparisons);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{bench}: failed: {error}");
            ExitCode::FAILURE
        }
    }
}
