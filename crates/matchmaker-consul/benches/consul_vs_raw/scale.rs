//! At 1000 topics: a lookup from the one namespace-wide watch against a raw
//! `health/service?passing` GET, and how long a registration takes to reach another instance's
//! lookups against a raw blocking query on that one service. The agent connections the two
//! backends hold are printed with the lookup row.

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use matchmaker_consul::naming::service_name;
use matchmaker_consul::{ConsulMatchMaker, MAX_AGENT_CONNECTIONS};
use matchmaker_core::MatchMaker;

use crate::report::{interleaved, BenchResult, Comparison};

const TOPICS: usize = 1000;
const LOOKUPS: usize = 2000;
const PROPAGATIONS: usize = 100;
const BUDGET: Duration = Duration::from_secs(20);
const NAMESPACE: &str = "bench-scale";

fn topic(index: usize) -> String {
    format!("scale-{}", index % TOPICS)
}

pub async fn compare(
    address: &str,
    agent_port: u16,
    raw: &reqwest::Client,
    base: &str,
) -> BenchResult<Vec<Comparison>> {
    let writer = crate::connect(address, NAMESPACE).await?;
    let reader = crate::connect(address, NAMESPACE).await?;
    let topics: Vec<String> = (0..TOPICS).map(topic).collect();
    for chunk in topics.chunks(8) {
        try_join_all(chunk.iter().map(|topic| writer.register(topic, "h0"))).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for index in 0..TOPICS {
        while reader.queues(&topic(index)).await?.len() != 1 {
            if Instant::now() > deadline {
                return Err(format!("{} not seen by the reader after 30 s", topic(index)).into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let connections = matchmaker_testkit::sockets::connections_to(agent_port);
    let url = |index: usize| {
        format!(
            "{base}/v1/health/service/{}?passing=1",
            service_name(NAMESPACE, &topic(index))
        )
    };

    let (measured, reference) = interleaved(
        LOOKUPS,
        BUDGET,
        async |index| {
            black_box(reader.queues(&format!("fanout~{}", topic(index))).await?);
            Ok(())
        },
        async |index| {
            let response = raw.get(url(index)).send().await?.error_for_status()?;
            black_box(response.json::<Vec<serde_json::Value>>().await?);
            Ok(())
        },
    )
    .await?;
    let lookup = Comparison {
        operation: format!(
            "lookup at {TOPICS} topics watched (2 backends hold {connections} agent \
             connections; bound {MAX_AGENT_CONNECTIONS} each)"
        ),
        baseline: "a raw GET health/service?passing".into(),
        short: "lookup at 1000 topics".into(),
        measured,
        reference,
    };

    let (measured, reference) = interleaved(
        PROPAGATIONS,
        BUDGET,
        async |index| {
            let host = format!("moved-a{index}");
            writer.register(&topic(index), &host).await?;
            seen_by(&reader, &topic(index), &host).await
        },
        async |index| {
            let host = format!("moved-b{index}");
            let (topic, url) = (topic(index), url(index));
            let (registered, seen) = tokio::join!(
                writer.register(&topic, &host),
                raw_blocking_until(raw, &url, &host)
            );
            registered?;
            seen
        },
    )
    .await?;
    writer.drain(std::time::Duration::from_secs(60)).await?;
    reader.drain(std::time::Duration::from_secs(60)).await?;
    let propagation = Comparison {
        operation: format!(
            "propagation at {TOPICS} topics: register on one backend until the other's lookup \
             shows it"
        ),
        baseline: "register until a raw blocking query on that service returns it".into(),
        short: "propagation at 1000 topics".into(),
        measured,
        reference,
    };
    Ok(vec![lookup, propagation])
}

/// Follows raw blocking queries on `url` (each from the last answer's index, as any watcher must:
/// an answer may come before the change is complete) until one lists `host` (at most 10 s).
async fn raw_blocking_until(raw: &reqwest::Client, url: &str, host: &str) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut consul_index = "0".to_owned();
    loop {
        let answer = raw
            .get(format!("{url}&index={consul_index}&wait=10s"))
            .send()
            .await?
            .error_for_status()?;
        consul_index = answer
            .headers()
            .get("X-Consul-Index")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("0")
            .to_owned();
        if answer.text().await?.contains(host) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no raw blocking answer listed {host} in 10 s").into());
        }
    }
}

/// Polls `reader` until `host` serves `topic` (at most 10 s).
async fn seen_by(reader: &ConsulMatchMaker, topic: &str, host: &str) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let key = format!("fanout~{topic}");
    loop {
        let routes = reader.queues(&key).await?;
        if routes
            .iter()
            .any(|route| route.host.as_deref() == Some(host))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{host} did not reach the reader's {topic} in 10 s").into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}
