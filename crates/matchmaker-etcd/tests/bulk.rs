//! `register_many` writes 1000 registrations in transactions of 128 with one keep-alive; the
//! time is recorded beside 100 registrations made one `register` at a time.

mod support;

use std::time::Instant;

use matchmaker_core::MatchMaker;
use support::{connect, fanout_hosts, random_prefix, shared_endpoints, wait_until_fanout};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_many_writes_a_thousand_registrations_in_bulk() {
    let Some(endpoints) = shared_endpoints("register_many") else {
        return;
    };
    let prefix = random_prefix("bulk");
    let writer = connect(&endpoints, &prefix).await;
    let reader = connect(&endpoints, &prefix).await;
    let hosts: Vec<String> = (0..1000).map(|index| format!("host-{index:04}")).collect();
    let pairs: Vec<(&str, &str)> = hosts.iter().map(|host| ("bulk", host.as_str())).collect();

    let started = Instant::now();
    writer.register_many(&pairs).await.unwrap();
    let bulk = started.elapsed();
    assert_eq!(writer.registrations().len(), 1000);
    let seen = wait_until_fanout(&reader, "bulk", &hosts, std::time::Duration::from_secs(10)).await;
    assert!(seen.is_some(), "the reader does not see all 1000");
    assert!(writer.is_alive("bulk", "host-0999").await.unwrap());

    let started = Instant::now();
    for host in &hosts[..100] {
        writer.register("one-by-one", host).await.unwrap();
    }
    let one_by_one = started.elapsed();
    assert_eq!(fanout_hosts(&writer, "one-by-one").await.len(), 100);

    let scenario = "etcd: bulk registration";
    matchmaker_testkit::figures::record_duration(scenario, "1000 pairs with register_many", bulk);
    matchmaker_testkit::figures::record_duration(
        scenario,
        "100 pairs with register, one after another",
        one_by_one,
    );
    support::delete_prefix(&endpoints, &prefix).await;
}

/// Concurrent `register` calls share transactions: 200 of them at once leave their keys at a
/// handful of etcd revisions (one per transaction), not 200; every one is then visible to
/// another instance and alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registers_are_written_in_shared_transactions() {
    let Some(endpoints) = shared_endpoints("concurrent registers") else {
        return;
    };
    let prefix = random_prefix("coalesced");
    let writer = connect(&endpoints, &prefix).await;
    let reader = connect(&endpoints, &prefix).await;
    let hosts: Vec<String> = (0..200).map(|index| format!("host-{index:03}")).collect();

    let started = Instant::now();
    let calls = hosts.iter().map(|host| writer.register("coalesced", host));
    for outcome in futures_util::future::join_all(calls).await {
        outcome.unwrap();
    }
    let elapsed = started.elapsed();
    let seen = wait_until_fanout(
        &reader,
        "coalesced",
        &hosts,
        std::time::Duration::from_secs(10),
    )
    .await;
    assert!(seen.is_some(), "the reader does not see all 200");
    assert!(writer.is_alive("coalesced", "host-199").await.unwrap());

    let mut raw = support::raw_client(&endpoints).await;
    let listed = raw
        .get(
            prefix.as_str(),
            Some(etcd_client::GetOptions::new().with_prefix()),
        )
        .await
        .unwrap();
    let revisions: std::collections::BTreeSet<i64> =
        listed.kvs().iter().map(|kv| kv.mod_revision()).collect();
    assert_eq!(listed.kvs().len(), 200);
    assert!(
        revisions.len() <= 50,
        "200 concurrent registers were written at {} revisions: not shared",
        revisions.len()
    );
    matchmaker_testkit::figures::record_duration(
        "etcd: bulk registration",
        "200 concurrent register calls",
        elapsed,
    );
    matchmaker_testkit::figures::record(
        "etcd: bulk registration",
        "transactions for 200 concurrent register calls",
        revisions.len().to_string(),
    );
    support::delete_prefix(&endpoints, &prefix).await;
}
