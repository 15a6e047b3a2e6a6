//! How a lookup's cost grows with the hosts of its topic: a bare-topic lookup (`queues("t")`,
//! one host chosen) and a fanout (`queues("fanout~t")`, every host) from the namespace watch's
//! cache, at 1, 10, 100 and 1000 hosts, each against the raw `GET health/service?passing` of
//! that topic in the same run, with the allocations one lookup makes.

use std::hint::black_box;
use std::time::Duration;

use matchmaker_consul::naming::service_name;
use matchmaker_core::MatchMaker;

use crate::lookup::passing;
use crate::report::{
    lookup_scale_rows, lookup_scale_topic, BenchResult, Comparison, LOOKUP_SCALE_HOSTS,
};

const NAMESPACE: &str = "bench-lookup-scale";

pub async fn compare(
    address: &str,
    raw: &reqwest::Client,
    base: &str,
) -> BenchResult<Vec<Comparison>> {
    let matchmaker = crate::connect(address, NAMESPACE).await?;
    let mut rows = Vec::new();
    for hosts in LOOKUP_SCALE_HOSTS {
        let topic = lookup_scale_topic(hosts);
        let url = format!(
            "{base}/v1/health/service/{}?passing=1",
            service_name(NAMESPACE, &topic)
        );
        let baseline = format!("a raw GET health/service?passing of {hosts} hosts");
        let raw_get = async |_| {
            black_box(passing(raw, &url).await?);
            Ok(())
        };
        rows.extend(lookup_scale_rows(&matchmaker, hosts, &baseline, raw_get).await?);
    }
    matchmaker.drain(Duration::from_secs(60)).await?;
    Ok(rows)
}
