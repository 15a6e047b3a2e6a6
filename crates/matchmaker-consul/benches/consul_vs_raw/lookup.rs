//! Lookup: `queues("fanout~<topic>")` answered from the blocking-query cache, against the
//! `GET /v1/health/service/<name>?passing` (and JSON parse) a lookup would send without it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use matchmaker_consul::naming::service_name;
use matchmaker_core::MatchMaker;

use crate::report::{interleaved, BenchResult, Comparison};

const TOPICS: usize = 10;
const HOSTS_PER_TOPIC: usize = 10;
const ITERATIONS: usize = 2000;
const BUDGET: Duration = Duration::from_secs(20);
const NAMESPACE: &str = "bench-lookup";

pub async fn compare(address: &str, raw: &reqwest::Client, base: &str) -> BenchResult<Comparison> {
    let matchmaker = crate::connect(address, NAMESPACE).await?;
    for index in 0..TOPICS * HOSTS_PER_TOPIC {
        let (topic, host) = crate::pair("lookup", index, TOPICS);
        matchmaker.register(&topic, &host).await?;
    }
    let topics: Vec<String> = (0..TOPICS)
        .map(|index| crate::pair("lookup", index, TOPICS).0)
        .collect();
    let fanout_keys: Vec<String> = topics.iter().map(|t| format!("fanout~{t}")).collect();
    let urls: Vec<String> = topics
        .iter()
        .map(|topic| {
            let name = service_name(NAMESPACE, topic);
            format!("{base}/v1/health/service/{name}?passing=1")
        })
        .collect();
    for (key, url) in fanout_keys.iter().zip(&urls) {
        wait_until_cached(&matchmaker, key, HOSTS_PER_TOPIC).await?;
        let listed = passing(raw, url).await?;
        if listed != HOSTS_PER_TOPIC {
            return Err(format!("{url} lists {listed} hosts, expected {HOSTS_PER_TOPIC}").into());
        }
    }

    let (measured, reference) = interleaved(
        ITERATIONS,
        BUDGET,
        async |index| {
            let routes = matchmaker.queues(&fanout_keys[index % TOPICS]).await?;
            black_box(routes);
            Ok(())
        },
        async |index| {
            black_box(passing(raw, &urls[index % TOPICS]).await?);
            Ok(())
        },
    )
    .await?;
    matchmaker.drain(std::time::Duration::from_secs(60)).await?;
    Ok(Comparison {
        operation: format!(
            "lookup: queues(\"fanout~t\"), cache ({TOPICS} topics x {HOSTS_PER_TOPIC} hosts)"
        ),
        baseline: "a raw GET health/service?passing".into(),
        short: "cache lookup".into(),
        measured,
        reference,
    })
}

/// One raw lookup: the request, and the JSON parsed as a client must; the number of entries.
pub async fn passing(raw: &reqwest::Client, url: &str) -> BenchResult<usize> {
    let response = raw.get(url).send().await?.error_for_status()?;
    let entries: Vec<serde_json::Value> = response.json().await?;
    Ok(entries.len())
}

/// The first lookup of a topic starts its blocking-query loop; wait until it holds all `hosts`.
async fn wait_until_cached(
    matchmaker: &matchmaker_consul::ConsulMatchMaker,
    key: &str,
    hosts: usize,
) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = matchmaker.queues(key).await?.len();
        if found == hosts {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{key}: {found} hosts cached after 10 s").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
