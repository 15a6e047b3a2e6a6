//! Lookup: `queues("fanout~<topic>")` answered from the watch-fed cache, against the prefix
//! Range a lookup would send to etcd without the cache.

use std::hint::black_box;
use std::time::Duration;

use etcd_client::{Client, GetOptions};
use matchmaker_core::MatchMaker;
use matchmaker_etcd::naming::registration_key;

use crate::report::{interleaved, BenchResult, Comparison};

const TOPICS: usize = 10;
const HOSTS_PER_TOPIC: usize = 10;
const ITERATIONS: usize = 2000;
const BUDGET: Duration = Duration::from_secs(20);
const PREFIX: &str = "/bench-lookup/";

pub async fn compare(endpoints: &[String], mut raw: Client) -> BenchResult<Comparison> {
    let matchmaker = crate::connect(endpoints, PREFIX).await?;
    for index in 0..TOPICS * HOSTS_PER_TOPIC {
        let (topic, host) = crate::pair("lookup", index, TOPICS);
        matchmaker.register(&topic, &host).await?;
    }
    let topics: Vec<String> = (0..TOPICS)
        .map(|index| crate::pair("lookup", index, TOPICS).0)
        .collect();
    let fanout_keys: Vec<String> = topics.iter().map(|t| format!("fanout~{t}")).collect();
    // The key prefix of one topic: what a lookup without the cache would list.
    let ranges: Vec<String> = topics
        .iter()
        .map(|topic| registration_key(PREFIX, topic, ""))
        .collect();
    for (key, range) in fanout_keys.iter().zip(&ranges) {
        let cached = matchmaker.queues(key).await?.len();
        let listed = raw.get(range.as_str(), Some(prefix())).await?.kvs().len();
        if cached != HOSTS_PER_TOPIC || listed != HOSTS_PER_TOPIC {
            return Err(format!(
                "{key}: the cache has {cached} hosts and etcd {listed}, expected {HOSTS_PER_TOPIC}"
            )
            .into());
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
            let response = raw
                .get(ranges[index % TOPICS].as_str(), Some(prefix()))
                .await?;
            black_box(response);
            Ok(())
        },
    )
    .await?;
    matchmaker.backend().revoke_lease().await?;
    Ok(Comparison {
        operation: format!(
            "lookup: queues(\"fanout~t\"), cache ({TOPICS} topics x {HOSTS_PER_TOPIC} hosts)"
        ),
        baseline: "a raw prefix Range".into(),
        short: "cache lookup".into(),
        measured,
        reference,
    })
}

fn prefix() -> GetOptions {
    GetOptions::new().with_prefix()
}
