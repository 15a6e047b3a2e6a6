//! Registering 1000 pairs: one `register()` at a time, 1000 `register()` calls at once, and all
//! of them at once when a lost lease forces re-registration (transactions of at most 128 puts),
//! against one raw put per pair and against the same pairs in raw transactions of 128.

use std::time::{Duration, Instant};

use etcd_client::Client;
use matchmaker_core::MatchMaker;
use matchmaker_etcd::EtcdMatchMaker;

use crate::report::{interleaved, timed, timed_concurrently, BenchResult, Comparison, Samples};

const REGISTRATIONS: usize = 1000;
const TOPICS: usize = 10;
const BUDGET: Duration = Duration::from_secs(20);
/// Rounds of "revoke the lease, re-register all 1000" (each round is one sample per side).
const REREGISTER_ROUNDS: usize = 5;
const PREFIX: &str = "/bench-register/";
const RAW_PREFIX: &str = "/bench-raw-register/";

pub async fn compare(endpoints: &[String], mut raw: Client) -> BenchResult<[Comparison; 3]> {
    let matchmaker = crate::connect(endpoints, PREFIX).await?;
    let pairs: Vec<(String, String)> = (0..REGISTRATIONS)
        .map(|index| crate::pair("register", index, TOPICS))
        .collect();

    let (measured, reference) = interleaved(
        REGISTRATIONS,
        BUDGET,
        async |index| {
            let (topic, host) = &pairs[index];
            Ok(matchmaker.register(topic, host).await?)
        },
        async |index| raw_put(&mut raw, &pairs[index]).await,
    )
    .await?;
    let one_by_one = Comparison {
        operation: format!("register(): {REGISTRATIONS} calls one after the other, per call"),
        baseline: "one raw put".into(),
        short: "a register() call".into(),
        measured,
        reference,
    };
    expect_hosts(&matchmaker, REGISTRATIONS / TOPICS).await?;

    let mut bulk = Vec::with_capacity(REREGISTER_ROUNDS);
    let mut sequential = Vec::with_capacity(REREGISTER_ROUNDS);
    for _ in 0..REREGISTER_ROUNDS {
        matchmaker.backend().revoke_lease().await?;
        wait_until_every_topic_is_empty(&matchmaker).await?;
        // The heartbeat finds the lease gone, grants a new one and re-puts all 1000 keys.
        bulk.push(timed(async { Ok(matchmaker.send_heartbeats().await?) }).await?);
        sequential.push(
            timed(async {
                for pair in &pairs {
                    raw_put(&mut raw, pair).await?;
                }
                Ok(())
            })
            .await?,
        );
        expect_hosts(&matchmaker, REGISTRATIONS / TOPICS).await?;
    }
    matchmaker.backend().revoke_lease().await?;
    let concurrent = concurrent_registers(endpoints, &mut raw).await?;
    let reregistration = Comparison {
        operation: format!("re-register all {REGISTRATIONS} after a lost lease (bulk txns)"),
        baseline: format!("{REGISTRATIONS} sequential raw puts"),
        short: format!("re-registering {REGISTRATIONS} pairs"),
        measured: Samples::new(bulk),
        reference: Samples::new(sequential),
    };
    Ok([one_by_one, concurrent, reregistration])
}

/// Rounds of 1000 concurrent `register()` calls, each round on new pairs, against the same
/// number of pairs put in raw transactions of 128 (the best batching etcd allows).
async fn concurrent_registers(endpoints: &[String], raw: &mut Client) -> BenchResult<Comparison> {
    let matchmaker = crate::connect(endpoints, "/bench-concurrent-register/").await?;
    let (mut measured, mut reference) = (Vec::new(), Vec::new());
    for round in 0..REREGISTER_ROUNDS {
        let tag = format!("concurrent-{round}");
        let pairs: Vec<(String, String)> = (0..REGISTRATIONS)
            .map(|index| crate::pair(&tag, index, TOPICS))
            .collect();
        measured.push(
            timed_concurrently(
                pairs
                    .iter()
                    .map(|(topic, host)| matchmaker.register(topic, host)),
            )
            .await?,
        );
        reference.push(timed(raw_transactions(raw, &pairs)).await?);
    }
    matchmaker.backend().revoke_lease().await?;
    Ok(Comparison {
        operation: format!("{REGISTRATIONS} concurrent register() calls (join_all)"),
        baseline: format!("the same {REGISTRATIONS} pairs in raw txns of 128 puts"),
        short: format!("registering {REGISTRATIONS} pairs at once"),
        measured: Samples::new(measured),
        reference: Samples::new(reference),
    })
}

/// The pairs put under the raw prefix in transactions of 128.
async fn raw_transactions(raw: &mut Client, pairs: &[(String, String)]) -> BenchResult<()> {
    for chunk in pairs.chunks(128) {
        let operations: Vec<etcd_client::TxnOp> = chunk
            .iter()
            .map(|(topic, host)| {
                let key = format!("{RAW_PREFIX}{topic}/{host}");
                let value =
                    format!(r#"{{"topic":"{topic}","host":"{host}","instance":"4242-0badf00d"}}"#);
                etcd_client::TxnOp::put(key, value, None)
            })
            .collect();
        raw.txn(etcd_client::Txn::new().and_then(operations))
            .await?;
    }
    Ok(())
}

/// What one registration would be without the matchmaker: one put of a similar JSON value.
async fn raw_put(raw: &mut Client, (topic, host): &(String, String)) -> BenchResult<()> {
    let key = format!("{RAW_PREFIX}{topic}/{host}");
    let value = format!(
        r#"{{"topic":"{topic}","host":"{host}","instance":"4242-0badf00d","registered_at_ms":1764259200000}}"#
    );
    raw.put(key, value, None).await?;
    Ok(())
}

async fn expect_hosts(matchmaker: &EtcdMatchMaker, hosts: usize) -> BenchResult<()> {
    for index in 0..TOPICS {
        let (topic, _) = crate::pair("register", index, TOPICS);
        let found = matchmaker.queues(&format!("fanout~{topic}")).await?.len();
        if found != hosts {
            return Err(format!("{topic}: {found} hosts registered, expected {hosts}").into());
        }
    }
    Ok(())
}

/// The revoke's deletes reach the cache through the watch: wait for all of them (bounded).
async fn wait_until_every_topic_is_empty(matchmaker: &EtcdMatchMaker) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = 0;
        for index in 0..TOPICS {
            let (topic, _) = crate::pair("register", index, TOPICS);
            left += matchmaker.queues(&format!("fanout~{topic}")).await?.len();
        }
        if left == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{left} registrations still cached 10 s after a revoke").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
