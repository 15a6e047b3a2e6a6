//! Hostile topics and hosts: a typed error or a safe encoding, never a key outside the prefix.

use std::collections::BTreeSet;

use etcd_client::GetOptions;
use matchmaker_core::{Error, MatchMaker};

mod support;
use support::{connect, fanout_hosts, pair, random_prefix, raw_client, shared_endpoints};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_topics_and_hosts_are_rejected_or_stay_encoded_inside_the_prefix() {
    let Some(endpoints) = shared_endpoints("hostile_topics_and_hosts") else {
        return;
    };
    let prefix = random_prefix("hostile");
    let (a, b) = pair(&endpoints, &prefix).await;
    let long_topic = "t".repeat(255);
    let accepted: Vec<(&str, &str)> = vec![
        ("a/b", "h1"),
        ("a%2Fb", "h1"),
        ("a%252Fb", "h1"),
        ("/", "h1"),
        ("x/./y", "h1"),
        ("~/.ssh", "h1"),
        ("/matchmaker-test/other/", "h1"),
        ("ünïcødé topic", "h1"),
        (&long_topic, "h1"),
        ("plain", "host..dots"),
        ("plain", "h%2F1"),
        ("plain", "ünïcødé"),
    ];
    let rejected: Vec<(String, String)> = vec![
        ("t".into(), "a/b".into()),
        ("t".into(), "..".into()),
        ("t".into(), "../x".into()),
        ("t".into(), "h\\x".into()),
        ("t\0".into(), "h".into()),
        ("t\n".into(), "h".into()),
        ("t".into(), "h\u{7}".into()),
        ("t".repeat(256), "h".into()),
        ("t".into(), "h".repeat(254)),
        ("a..b".into(), "h".into()),
        ("..".into(), "h".into()),
        ("../../escape".into(), "h".into()),
        ("".into(), "h".into()),
    ];
    for (topic, host) in &rejected {
        let outcome = a.register(topic, host).await;
        assert!(
            matches!(outcome, Err(Error::InvalidKey { .. })),
            "({topic:?}, {host:?}) gave {outcome:?}"
        );
    }
    for (topic, host) in &accepted {
        a.register(topic, host).await.unwrap_or_else(|error| {
            panic!("({topic:?}, {host:?}) was refused: {error}");
        });
    }

    // Every key this instance wrote, found by its instance id anywhere in etcd, is under the
    // prefix, and there is exactly one per accepted pair (no collisions).
    let raw = raw_client(&endpoints).await;
    let everything = raw
        .clone()
        .get(vec![0u8], Some(GetOptions::new().with_from_key()))
        .await
        .unwrap();
    let marker = format!("\"instance\":\"{}\"", a.backend().instance());
    let ours: BTreeSet<String> = everything
        .kvs()
        .iter()
        .filter(|kv| String::from_utf8_lossy(kv.value()).contains(&marker))
        .map(|kv| String::from_utf8_lossy(kv.key()).into_owned())
        .collect();
    assert_eq!(ours.len(), accepted.len(), "{ours:#?}");
    for key in &ours {
        assert!(key.starts_with(&prefix), "{key:?} is outside {prefix:?}");
        let below = &key[prefix.len()..];
        assert_eq!(
            below.matches('/').count(),
            1,
            "{key:?} is not <topic>/<host>"
        );
    }

    // The other instance decodes every pair exactly, once its watch has delivered A's writes
    // (B's list reads its watch-fed cache, which trails A's writes by a few milliseconds).
    let expected: BTreeSet<(String, String)> = accepted
        .iter()
        .map(|(topic, host)| (topic.to_string(), host.to_string()))
        .collect();
    let pairs_of_b = || async {
        b.list(None)
            .await
            .unwrap()
            .into_iter()
            .map(|info| (info.topic, info.host))
            .collect::<BTreeSet<(String, String)>>()
    };
    let caught_up = support::eventually(std::time::Duration::from_secs(10), || async {
        pairs_of_b().await.len() >= expected.len()
    })
    .await;
    assert!(caught_up.is_some(), "B's cache never held every pair");
    assert_eq!(pairs_of_b().await, expected);
    assert_eq!(fanout_hosts(&b, "a/b").await, ["h1"]);
    assert_eq!(
        fanout_hosts(&b, "plain").await,
        ["h%2F1", "host..dots", "ünïcødé"]
    );
    support::delete_prefix(&endpoints, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_under_the_prefix_are_ignored_by_lookups() {
    let Some(endpoints) = shared_endpoints("foreign_keys_under_the_prefix") else {
        return;
    };
    let prefix = random_prefix("foreign");
    let raw = raw_client(&endpoints).await;
    for key in ["a/b/c", "no-slash", "bad%zz/h", "t/"] {
        raw.clone()
            .put(format!("{prefix}{key}"), "junk", None)
            .await
            .unwrap();
    }
    let a = connect(&endpoints, &prefix).await;
    a.register("t", "h").await.unwrap();
    assert_eq!(fanout_hosts(&a, "t").await, ["h"]);
    assert_eq!(a.list(None).await.unwrap().len(), 1);
    support::delete_prefix(&endpoints, &prefix).await;
}
