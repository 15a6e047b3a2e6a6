//! Registering 200 pairs: 200 concurrent `register()` calls and one `register_many()`, against
//! 200 raw `PUT /v1/agent/service/register` of services with their own TTL check, one after the
//! other (what a client without the matchmaker sends). Each round uses new pairs.

use matchmaker_core::MatchMaker;

use crate::report::{timed, timed_concurrently, BenchResult, Comparison, Samples};

const REGISTRATIONS: usize = 200;
const TOPICS: usize = 10;
const ROUNDS: usize = 3;
const NAMESPACE: &str = "bench-register";
const RAW_SERVICE: &str = "bench-raw-register";

pub async fn compare(
    address: &str,
    raw: &reqwest::Client,
    base: &str,
) -> BenchResult<[Comparison; 2]> {
    let matchmaker = crate::connect(address, NAMESPACE).await?;
    let (mut concurrent, mut bulk, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let pairs = pairs_of(&format!("concurrent-{round}"));
        concurrent.push(
            timed_concurrently(
                pairs
                    .iter()
                    .map(|(topic, host)| matchmaker.register(topic, host)),
            )
            .await?,
        );
        let pairs = pairs_of(&format!("bulk-{round}"));
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(topic, host)| (topic.as_str(), host.as_str()))
            .collect();
        bulk.push(timed(async { Ok(matchmaker.register_many(&borrowed).await?) }).await?);
        reference.push(timed(raw_registers(raw, base, round)).await?);
        for index in 0..REGISTRATIONS {
            let url = format!("{base}/v1/agent/service/deregister/{RAW_SERVICE}-{round}-{index}");
            raw.put(url).send().await?.error_for_status()?;
        }
    }
    matchmaker.drain(std::time::Duration::from_secs(60)).await?;
    let reference = Samples::new(reference);
    let baseline = format!("{REGISTRATIONS} sequential raw agent service registers");
    Ok([
        Comparison {
            operation: format!("{REGISTRATIONS} concurrent register() calls (join_all)"),
            baseline: baseline.clone(),
            short: format!("registering {REGISTRATIONS} pairs at once"),
            measured: Samples::new(concurrent),
            reference: reference.clone(),
        },
        Comparison {
            operation: format!("register_many() of {REGISTRATIONS} pairs"),
            baseline,
            short: format!("a bulk register of {REGISTRATIONS} pairs"),
            measured: Samples::new(bulk),
            reference,
        },
    ])
}

fn pairs_of(tag: &str) -> Vec<(String, String)> {
    (0..REGISTRATIONS)
        .map(|index| crate::pair(tag, index, TOPICS))
        .collect()
}

/// 200 services `<RAW_SERVICE>-<round>-<i>`, each with its own TTL check, one after the other.
async fn raw_registers(raw: &reqwest::Client, base: &str, round: usize) -> BenchResult<()> {
    for index in 0..REGISTRATIONS {
        let id = format!("{RAW_SERVICE}-{round}-{index}");
        let body = serde_json::json!({
            "ID": id,
            "Name": RAW_SERVICE,
            "Address": format!("register-host-{index}"),
            "Meta": { "topic": format!("register-topic-{}", index % TOPICS) },
            "Check": { "CheckID": format!("{id}-ttl"), "Name": "alive", "TTL": format!("{}s", crate::TTL.as_secs()) },
        });
        raw.put(format!("{base}/v1/agent/service/register"))
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}
