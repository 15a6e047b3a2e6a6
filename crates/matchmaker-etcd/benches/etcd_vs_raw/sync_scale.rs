//! The initial sync of a new instance at 1k, 10k, 100k and 1M registrations (100 hosts per
//! topic), against a raw paged Range of the same prefix (at one pinned revision, in pages sized
//! as the sync sizes them: what the sync itself does without decoding or caching), and the heap
//! the synced cache holds per registration (counted by the bench's allocator: bytes live after
//! `connect` minus before).

use std::time::Duration;

use etcd_client::{Client, GetOptions, Txn, TxnOp};
use futures_util::future::try_join_all;

use crate::report::{timed, BenchResult, Comparison, Samples};
use matchmaker_etcd::paging::{next_page_keys, FIRST_PAGE_KEYS, PAGE_BYTES};
use matchmaker_testkit::allocations::live_bytes;

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const HOSTS_PER_TOPIC: usize = 100;
/// Sync rounds per size (each a sample per side).
const ROUNDS: usize = 3;

pub async fn compare(endpoints: &[String], raw: Client) -> BenchResult<Vec<Comparison>> {
    let mut rows = Vec::new();
    for size in SIZES {
        let prefix = format!("/bench-sync-{size}/");
        write(&raw, &prefix, size).await?;
        let (mut measured, mut reference) = (Vec::new(), Vec::new());
        let mut per_registration = Vec::new();
        for _ in 0..ROUNDS {
            let before = live_bytes();
            let mut synced = None;
            measured.push(
                timed(async {
                    synced = Some(crate::connect(endpoints, &prefix).await?);
                    Ok(())
                })
                .await?,
            );
            let held = live_bytes().saturating_sub(before);
            per_registration.push(held / size);
            let synced = synced.expect("connected");
            let listed = synced.list(None).await?.len();
            if listed != size {
                return Err(format!("synced {listed} of {size} registrations").into());
            }
            drop(synced);
            reference.push(timed(raw_paged_range(&raw, &prefix, size)).await?);
        }
        per_registration.sort_unstable();
        let bytes = per_registration[per_registration.len() / 2];
        rows.push(Comparison {
            operation: format!(
                "initial sync of a new instance at {size} registrations (cache: {bytes} B each)"
            ),
            baseline: format!("raw paged Range of the {size} keys"),
            short: format!("syncing {size} registrations"),
            measured: Samples::new(measured),
            reference: Samples::new(reference),
        });
        delete(&raw, &prefix).await?;
    }
    Ok(rows)
}

/// `size` registrations under `prefix` in transactions of 128, 8 at a time.
async fn write(raw: &Client, prefix: &str, size: usize) -> BenchResult<()> {
    let operations: Vec<TxnOp> = (0..size)
        .map(|index| {
            let topic = format!("sync-topic-{}", index / HOSTS_PER_TOPIC);
            let host = format!("sync-host-{}", index % HOSTS_PER_TOPIC);
            let key = matchmaker_etcd::naming::registration_key(prefix, &topic, &host);
            let value = format!(
                r#"{{"topic":"{topic}","host":"{host}","instance":"4242-0badf00d","registered_at_ms":0}}"#
            );
            TxnOp::put(key, value, None)
        })
        .collect();
    let batches: Vec<&[TxnOp]> = operations.chunks(128).collect();
    for wave in batches.chunks(8) {
        try_join_all(wave.iter().map(|batch| {
            let mut raw = raw.clone();
            let txn = Txn::new().and_then(batch.to_vec());
            async move { raw.txn(txn).await }
        }))
        .await?;
    }
    Ok(())
}

/// Every key under `prefix`, in pages sized as the sync sizes them, at the first page's revision.
async fn raw_paged_range(raw: &Client, prefix: &str, size: usize) -> BenchResult<()> {
    let mut raw = raw.clone();
    // The prefix ends in '/': its range ends just past it, at '0'.
    let mut end = prefix.as_bytes().to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    let mut start = prefix.as_bytes().to_vec();
    let (mut revision, mut seen, mut page_keys) = (0, 0, FIRST_PAGE_KEYS);
    loop {
        let mut options = GetOptions::new()
            .with_range(end.clone())
            .with_limit(page_keys);
        if revision != 0 {
            options = options.with_revision(revision);
        }
        let response = raw.get(start.clone(), Some(options)).await?;
        if revision == 0 {
            revision = response.header().map_or(0, |header| header.revision());
        }
        let kvs = response.kvs();
        seen += kvs.len();
        page_keys = next_page_keys(kvs, PAGE_BYTES);
        match kvs.last() {
            Some(last) if response.more() => {
                start = last.key().to_vec();
                start.push(0);
            }
            _ => break,
        }
    }
    if seen != size {
        return Err(format!("the raw Range saw {seen} of {size} keys").into());
    }
    Ok(())
}

async fn delete(raw: &Client, prefix: &str) -> BenchResult<()> {
    let options = etcd_client::DeleteOptions::new().with_prefix();
    raw.clone().delete(prefix, Some(options)).await?;
    // Let the deleted instance's watch go quiet before the next size is written.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
