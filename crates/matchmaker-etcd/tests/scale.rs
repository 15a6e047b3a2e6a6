//! A new instance starts against a prefix holding 100k registrations (1000 topics x 100 hosts):
//! the initial listing pages through them at one revision, where one Range used to exceed
//! gRPC's 4 MiB message limit from about 22k registrations on ("decoded message length too
//! large"). Own etcd server, so the shared one stays small for the other tests.

mod support;

use std::time::{Duration, Instant};

use futures_util::future::try_join_all;
use matchmaker_core::MatchMaker;
use matchmaker_testkit::etcd::EtcdOptions;
use support::{connect, own_server, random_prefix};

const TOPICS: usize = 1000;
const HOSTS_PER_TOPIC: usize = 100;
/// etcd's default `--max-txn-ops`.
const PUTS_PER_TXN: usize = 128;
/// Transactions in flight at once while writing.
const WRITERS: usize = 8;

fn record(topic: &str, host: &str) -> String {
    format!(r#"{{"topic":"{topic}","host":"{host}","instance":"scale-test","registered_at_ms":0}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_starts_on_100k_registrations_and_sees_them_all() {
    let Some(server) = own_server("scale_100k", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    let prefix = random_prefix("scale");
    let client = etcd_client::Client::connect(&endpoints, None)
        .await
        .expect("a raw client connects");

    let pairs: Vec<(String, String)> = (0..TOPICS)
        .flat_map(|topic| {
            (0..HOSTS_PER_TOPIC).map(move |host| (format!("topic-{topic}"), format!("host-{host}")))
        })
        .collect();
    let written = Instant::now();
    let batches: Vec<Vec<etcd_client::TxnOp>> = pairs
        .chunks(PUTS_PER_TXN)
        .map(|chunk| {
            chunk
                .iter()
                .map(|(topic, host)| {
                    let key = matchmaker_etcd::naming::registration_key(&prefix, topic, host);
                    etcd_client::TxnOp::put(key, record(topic, host), None)
                })
                .collect()
        })
        .collect();
    for wave in batches.chunks(WRITERS) {
        try_join_all(wave.iter().map(|operations| {
            let mut client = client.clone();
            let txn = etcd_client::Txn::new().and_then(operations.clone());
            async move { client.txn(txn).await }
        }))
        .await
        .expect("the registrations are written");
    }
    let write_time = written.elapsed();

    let started = Instant::now();
    let fresh = connect(&endpoints, &prefix).await;
    let sync_time = started.elapsed();
    let listed = fresh.list(None).await.expect("lists from the cache");
    assert_eq!(listed.len(), TOPICS * HOSTS_PER_TOPIC);
    for topic in ["topic-0", "topic-499", "topic-999"] {
        let routes = fresh.queues(&format!("fanout~{topic}")).await.unwrap();
        assert_eq!(routes.len(), HOSTS_PER_TOPIC, "{topic}");
    }
    assert!(fresh.backend().cache_status().connected);
    // The watch follows from the listing's revision: a change after it arrives.
    fresh.register("topic-0", "host-new").await.unwrap();
    let routes = fresh.queues("fanout~topic-0").await.unwrap();
    assert_eq!(routes.len(), HOSTS_PER_TOPIC + 1);

    let scenario = "etcd: a new instance on 100k registrations (1000 topics x 100 hosts)";
    matchmaker_testkit::figures::record_duration(
        scenario,
        "writing them in transactions of 128 (8 in flight) took",
        write_time,
    );
    matchmaker_testkit::figures::record_duration(
        scenario,
        "connect (paged listing + watch) took",
        sync_time,
    );
    assert!(sync_time < Duration::from_secs(120), "took {sync_time:?}");
}
