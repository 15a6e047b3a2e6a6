//! Heartbeat: `send_heartbeats()` for 100 registrations (one keep-alive of the process's one
//! lease), against refreshing each of 100 keys by itself, as the original Redis matchmaker did
//! (one `EXPIRE` per registration); and for 10k registrations against the one raw keep-alive
//! it amounts to (what the matchmaker adds per beat: snapshot, healing check, bookkeeping).
//!
//! The baseline is the cheapest per-key refresh etcd has: every key on its own lease, each lease
//! with its keep-alive stream already open, so one refresh is one keep-alive round trip; the 100
//! are sent one after the other, as the original's loop did. (Re-putting each key would cost a
//! Raft write per key, a slower baseline that would flatter the matchmaker.)

use std::time::Duration;

use etcd_client::{Client, LeaseKeepAliveStream, LeaseKeeper, PutOptions};
use matchmaker_core::MatchMaker;

use crate::report::{interleaved, BenchResult, Comparison};

const REGISTRATIONS: usize = 100;
const TOPICS: usize = 10;
const ITERATIONS: usize = 200;
const BUDGET: Duration = Duration::from_secs(25);
const PREFIX: &str = "/bench-heartbeat/";
const RAW_PREFIX: &str = "/bench-raw-heartbeat/";

/// One key's lease and its open keep-alive stream.
struct PerKeyLease {
    keeper: LeaseKeeper,
    answers: LeaseKeepAliveStream,
}

impl PerKeyLease {
    async fn refresh(&mut self) -> BenchResult<()> {
        self.keeper.keep_alive().await?;
        match self.answers.message().await? {
            Some(answer) if answer.ttl() > 0 => Ok(()),
            other => Err(format!("lease {} not refreshed: {other:?}", self.keeper.id()).into()),
        }
    }
}

pub async fn compare(endpoints: &[String], mut raw: Client) -> BenchResult<[Comparison; 2]> {
    let matchmaker = crate::connect(endpoints, PREFIX).await?;
    for index in 0..REGISTRATIONS {
        let (topic, host) = crate::pair("heartbeat", index, TOPICS);
        matchmaker.register(&topic, &host).await?;
    }
    let mut per_key = Vec::with_capacity(REGISTRATIONS);
    for index in 0..REGISTRATIONS {
        let lease = raw
            .lease_grant(crate::TTL.as_secs() as i64, None)
            .await?
            .id();
        let (topic, host) = crate::pair("heartbeat", index, TOPICS);
        let key = format!("{RAW_PREFIX}{topic}/{host}");
        let options = PutOptions::new().with_lease(lease);
        raw.put(key, "{}", Some(options)).await?;
        let (keeper, answers) = raw.lease_keep_alive(lease).await?;
        per_key.push(PerKeyLease { keeper, answers });
    }

    let (measured, reference) = interleaved(
        ITERATIONS,
        BUDGET,
        async |_| Ok(matchmaker.send_heartbeats().await?),
        async |_| {
            for lease in &mut per_key {
                lease.refresh().await?;
            }
            Ok(())
        },
    )
    .await?;
    matchmaker.backend().revoke_lease().await?;
    for lease in &per_key {
        raw.lease_revoke(lease.keeper.id()).await?;
    }
    let per_key = Comparison {
        operation: format!("heartbeat: send_heartbeats(), {REGISTRATIONS} registrations"),
        baseline: format!("{REGISTRATIONS} sequential keep-alives, one lease per key"),
        short: format!("a heartbeat of {REGISTRATIONS} registrations"),
        measured,
        reference,
    };
    Ok([per_key, large(endpoints, &mut raw).await?])
}

const LARGE: usize = 10_000;

/// `send_heartbeats()` over 10k registrations against one raw keep-alive on an open stream.
async fn large(endpoints: &[String], raw: &mut Client) -> BenchResult<Comparison> {
    let matchmaker = crate::connect(endpoints, "/bench-heartbeat-10k/").await?;
    let pairs: Vec<(String, String)> = (0..LARGE)
        .map(|index| crate::pair("heartbeat-10k", index, 100))
        .collect();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(t, h)| (t.as_str(), h.as_str()))
        .collect();
    matchmaker.register_many(&refs).await?;
    let lease = raw
        .lease_grant(crate::TTL.as_secs() as i64, None)
        .await?
        .id();
    let (keeper, answers) = raw.lease_keep_alive(lease).await?;
    let mut one = PerKeyLease { keeper, answers };
    let (measured, reference) = interleaved(
        ITERATIONS,
        BUDGET,
        async |_| Ok(matchmaker.send_heartbeats().await?),
        async |_| one.refresh().await,
    )
    .await?;
    matchmaker.backend().revoke_lease().await?;
    raw.lease_revoke(lease).await?;
    Ok(Comparison {
        operation: format!("heartbeat: send_heartbeats(), {LARGE} registrations"),
        baseline: "one raw keep-alive on an open stream".into(),
        short: format!("a heartbeat of {LARGE} registrations"),
        measured,
        reference,
    })
}
