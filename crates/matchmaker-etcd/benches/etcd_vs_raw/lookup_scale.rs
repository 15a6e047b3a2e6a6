//! How a lookup's cost grows with the hosts of its topic: a bare-topic lookup (`queues("t")`,
//! one host chosen) and a fanout (`queues("fanout~t")`, every host) from the cache, at 1, 10,
//! 100 and 1000 hosts, each against a raw Range of that topic's keys in the same run.

use std::hint::black_box;
use std::time::Duration;

use etcd_client::{Client, GetOptions};
use matchmaker_core::MatchMaker;
use matchmaker_etcd::naming::registration_key;

use crate::report::{interleaved, BenchResult, Comparison};

const HOST_COUNTS: [usize; 4] = [1, 10, 100, 1000];
const ITERATIONS: usize = 500;
const BUDGET: Duration = Duration::from_secs(5);
const PREFIX: &str = "/bench-lookup-scale/";

pub async fn compare(endpoints: &[String], mut raw: Client) -> BenchResult<Vec<Comparison>> {
    let matchmaker = crate::connect(endpoints, PREFIX).await?;
    let mut rows = Vec::new();
    for hosts in HOST_COUNTS {
        let topic = format!("scale-{hosts}");
        let names: Vec<String> = (0..hosts).map(|index| format!("host-{index:04}")).collect();
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(|host| (topic.as_str(), host.as_str()))
            .collect();
        matchmaker.register_many(&pairs).await?;
        let range = registration_key(PREFIX, &topic, "");
        let fanout = format!("fanout~{topic}");
        let cached = matchmaker.queues(&fanout).await?.len();
        if cached != hosts {
            return Err(format!("{topic}: the cache has {cached} hosts, expected {hosts}").into());
        }
        for (key, kind) in [(topic.as_str(), "bare"), (fanout.as_str(), "fanout")] {
            let (measured, reference) = interleaved(
                ITERATIONS,
                BUDGET,
                async |_| {
                    black_box(matchmaker.queues(key).await?);
                    Ok(())
                },
                async |_| {
                    let options = GetOptions::new().with_prefix();
                    black_box(raw.get(range.as_str(), Some(options)).await?);
                    Ok(())
                },
            )
            .await?;
            rows.push(Comparison {
                operation: format!("lookup scale: {kind} queues(), {hosts} hosts"),
                baseline: format!("a raw Range of the {hosts} keys"),
                short: format!("a {kind} lookup at {hosts} hosts"),
                measured,
                reference,
            });
        }
    }
    matchmaker.backend().revoke_lease().await?;
    Ok(rows)
}
