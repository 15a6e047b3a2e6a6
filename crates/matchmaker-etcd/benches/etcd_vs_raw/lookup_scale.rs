//! How a lookup's cost grows with the hosts of its topic: a bare-topic lookup (`queues("t")`,
//! one host chosen) and a fanout (`queues("fanout~t")`, every host) from the cache, at 1, 10,
//! 100 and 1000 hosts, each against a raw Range of that topic's keys in the same run, with the
//! allocations one lookup makes.

use std::hint::black_box;

use etcd_client::{Client, GetOptions};
use matchmaker_etcd::naming::registration_key;

use crate::report::{
    lookup_scale_rows, lookup_scale_topic, BenchResult, Comparison, LOOKUP_SCALE_HOSTS,
};

const PREFIX: &str = "/bench-lookup-scale/";

pub async fn compare(endpoints: &[String], raw: Client) -> BenchResult<Vec<Comparison>> {
    let matchmaker = crate::connect(endpoints, PREFIX).await?;
    let mut rows = Vec::new();
    for hosts in LOOKUP_SCALE_HOSTS {
        let topic = lookup_scale_topic(hosts);
        let range = registration_key(PREFIX, &topic, "");
        let baseline = format!("a raw Range of the {hosts} keys");
        let raw_range = async |_| {
            let options = GetOptions::new().with_prefix();
            black_box(raw.clone().get(range.as_str(), Some(options)).await?);
            Ok(())
        };
        rows.extend(lookup_scale_rows(&matchmaker, hosts, &baseline, raw_range).await?);
    }
    matchmaker.backend().revoke_lease().await?;
    Ok(rows)
}
