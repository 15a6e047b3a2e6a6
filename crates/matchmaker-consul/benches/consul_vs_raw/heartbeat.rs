//! Heartbeat: `send_heartbeats()` for 50 registrations (one check pass: every registration's
//! check is an alias of the process's one TTL check), against 50 services with their own TTL
//! check, each passed by its own `PUT /v1/agent/check/pass/<id>`, one after the other, as the
//! original Redis matchmaker refreshed each registration by itself.
//!
//! Every fifth matchmaker beat also lists the agent's services to re-create vanished ones; the
//! median shows the common beat, the p99 that one.

use std::time::Duration;

use matchmaker_core::MatchMaker;

use crate::report::{interleaved, BenchResult, Comparison};

const REGISTRATIONS: usize = 50;
const TOPICS: usize = 10;
const ITERATIONS: usize = 100;
const BUDGET: Duration = Duration::from_secs(25);
const NAMESPACE: &str = "bench-heartbeat";
const RAW_SERVICE: &str = "bench-raw-heartbeat";

pub async fn compare(address: &str, raw: &reqwest::Client, base: &str) -> BenchResult<Comparison> {
    let matchmaker = crate::connect(address, NAMESPACE).await?;
    for index in 0..REGISTRATIONS {
        let (topic, host) = crate::pair("heartbeat", index, TOPICS);
        matchmaker.register(&topic, &host).await?;
    }
    let mut pass_urls = Vec::with_capacity(REGISTRATIONS);
    for index in 0..REGISTRATIONS {
        let check = register_ttl_service(raw, base, index).await?;
        pass_urls.push(format!("{base}/v1/agent/check/pass/{check}"));
    }
    // The first pass turns a new TTL check from critical to passing (a sync to the servers);
    // later passes change nothing, which is the steady state being measured.
    pass_each(raw, &pass_urls).await?;

    let (measured, reference) = interleaved(
        ITERATIONS,
        BUDGET,
        async |_| Ok(matchmaker.send_heartbeats().await?),
        async |_| pass_each(raw, &pass_urls).await,
    )
    .await?;
    matchmaker.drain(std::time::Duration::from_secs(60)).await?;
    for index in 0..REGISTRATIONS {
        let url = format!("{base}/v1/agent/service/deregister/{RAW_SERVICE}-{index}");
        raw.put(url).send().await?.error_for_status()?;
    }
    Ok(Comparison {
        operation: format!("heartbeat: send_heartbeats(), {REGISTRATIONS} registrations"),
        baseline: format!("{REGISTRATIONS} sequential check passes, one TTL check each"),
        short: format!("a heartbeat of {REGISTRATIONS} registrations"),
        measured,
        reference,
    })
}

/// Registers service `<RAW_SERVICE>-<index>` with its own TTL check; returns the check id.
async fn register_ttl_service(
    raw: &reqwest::Client,
    base: &str,
    index: usize,
) -> BenchResult<String> {
    let id = format!("{RAW_SERVICE}-{index}");
    let check = format!("{id}-ttl");
    let body = serde_json::json!({
        "ID": id,
        "Name": RAW_SERVICE,
        "Address": format!("heartbeat-host-{index}"),
        "Check": { "CheckID": check, "Name": "alive", "TTL": format!("{}s", crate::TTL.as_secs()) },
    });
    raw.put(format!("{base}/v1/agent/service/register"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?;
    Ok(check)
}

async fn pass_each(raw: &reqwest::Client, urls: &[String]) -> BenchResult<()> {
    for url in urls {
        raw.put(url).send().await?.error_for_status()?;
    }
    Ok(())
}
