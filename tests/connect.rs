//! `matchmaker::connect` and friends: one test per scheme and per error message.
#![cfg(all(feature = "memory", feature = "localhost", feature = "stub"))]

use std::time::Duration;

use matchmaker::{connect, connect_with, ConnectConfig, Error, HeartbeatConfig, MatchMaker, Route};

fn invalid_config_message(error: Error) -> String {
    match error {
        Error::InvalidConfig(message) => message,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[tokio::test]
async fn memory_url_without_name_shares_the_global_registry() {
    let node1 = connect("memory://").await.unwrap();
    let node2 = connect("memory://").await.unwrap();
    assert_eq!(node1.backend_name(), "memory");
    node1.register("connect-global", "node1").await.unwrap();
    let listed = node2.list(Some("connect-global")).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].host, "node1");
    node1.unregister("connect-global", "node1").await.unwrap();
}

#[tokio::test]
async fn memory_urls_with_different_names_are_separate_registries() {
    let left = connect("memory://connect-left").await.unwrap();
    let left_again = connect("memory://connect-left/").await.unwrap();
    let right = connect("memory://connect-right").await.unwrap();
    left.register("topic", "node1").await.unwrap();
    assert_eq!(
        left_again.queues("topic").await.unwrap(),
        vec![Route::new("topic.node1", "node1")]
    );
    assert!(right.queues("topic").await.unwrap().is_empty());
}

#[tokio::test]
async fn memory_url_with_an_invalid_name_is_rejected() {
    let error = connect("memory://two words").await.unwrap_err();
    assert!(invalid_config_message(error).contains("invalid registry name"));
}

#[tokio::test]
async fn heartbeat_settings_of_the_config_reach_the_backend() {
    let config = ConnectConfig::new("memory://connect-ttl")
        .with_heartbeat(HeartbeatConfig::with_ttl(Duration::from_secs(2)));
    let matchmaker = connect_with(&config).await.unwrap();
    assert_eq!(
        matchmaker.heartbeat_config().unwrap().ttl,
        Duration::from_secs(2)
    );
}

#[tokio::test]
async fn invalid_heartbeat_settings_are_rejected_before_connecting() {
    let config = ConnectConfig::new("memory://")
        .with_heartbeat(HeartbeatConfig::with_ttl(Duration::from_millis(10)));
    let error = connect_with(&config).await.unwrap_err();
    assert!(invalid_config_message(error).contains("ttl"));
}

#[tokio::test]
async fn localhost_url_routes_every_topic_to_its_host() {
    let matchmaker = connect("localhost://node7").await.unwrap();
    assert_eq!(matchmaker.backend_name(), "localhost");
    assert_eq!(
        matchmaker.queues("scheduler").await.unwrap(),
        vec![Route::new("scheduler.node7", "node7")]
    );
}

#[tokio::test]
async fn localhost_url_without_host_uses_localhost() {
    let matchmaker = connect("localhost://").await.unwrap();
    assert_eq!(
        matchmaker.queues("scheduler").await.unwrap(),
        vec![Route::new("scheduler.localhost", "localhost")]
    );
}

#[tokio::test]
async fn stub_url_returns_keys_untouched() {
    let matchmaker = connect("stub://").await.unwrap();
    assert_eq!(matchmaker.backend_name(), "stub");
    assert_eq!(
        matchmaker.queues("a.b").await.unwrap(),
        vec![Route::hostless("a.b")]
    );
}

#[tokio::test]
async fn stub_url_with_a_target_is_rejected() {
    let error = connect("stub://somewhere").await.unwrap_err();
    assert!(invalid_config_message(error).contains("takes nothing"));
}

#[tokio::test]
async fn static_backends_do_not_support_list_or_subscribe() {
    let matchmaker = connect("stub://").await.unwrap();
    assert!(matches!(
        matchmaker.list(None).await,
        Err(Error::Unsupported {
            backend: "stub",
            operation: "list"
        })
    ));
    assert!(matches!(
        matchmaker.subscribe(None),
        Err(Error::Unsupported {
            backend: "stub",
            operation: "subscribe"
        })
    ));
    assert!(matchmaker.heartbeat_config().is_none());
}

#[tokio::test]
async fn unknown_scheme_lists_the_known_schemes() {
    let error = connect("redis://127.0.0.1:6379").await.unwrap_err();
    let message = invalid_config_message(error);
    assert!(
        message.contains("unknown matchmaker scheme \"redis\""),
        "{message}"
    );
    for usage in [
        "memory://[name]",
        "localhost://[host]",
        "stub://",
        "ring:///",
        "etcd://",
        "consul://",
    ] {
        assert!(message.contains(usage), "{usage} missing from {message}");
    }
}

#[tokio::test]
async fn text_without_a_scheme_is_rejected() {
    let error = connect("127.0.0.1:2379").await.unwrap_err();
    assert!(invalid_config_message(error).contains("expected scheme://"));
}

/// In a build without the etcd feature the message names the feature; with every feature on
/// (CI), `schemes::tests::scheme_whose_feature_is_off_names_the_feature_to_enable` covers it.
#[cfg(not(feature = "etcd"))]
#[tokio::test]
async fn etcd_url_without_the_etcd_feature_names_the_feature() {
    let error = connect("etcd://127.0.0.1:2379").await.unwrap_err();
    let message = invalid_config_message(error);
    assert!(
        message.contains("enable the \"etcd\" feature of matchmaker"),
        "{message}"
    );
}

#[test]
fn scheme_table_reports_which_backends_are_compiled_in() {
    let schemes = matchmaker::schemes::schemes();
    let memory = schemes
        .iter()
        .find(|scheme| scheme.name == "memory")
        .unwrap();
    assert_eq!(memory.is_enabled(), cfg!(feature = "memory"));
    let etcd = schemes.iter().find(|scheme| scheme.name == "etcd").unwrap();
    assert_eq!(etcd.is_enabled(), cfg!(feature = "etcd"));
    assert_eq!(etcd.feature, "etcd");
}

#[cfg(feature = "ring")]
mod ring {
    use super::*;
    use std::io::Write;

    #[tokio::test]
    async fn ring_url_reads_the_ring_file_at_its_path() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(br#"{"scheduler": ["node1", "node2"]}"#)
            .unwrap();
        let url = format!("ring://{}", file.path().display());
        assert!(url.starts_with("ring:///"), "{url}");
        let matchmaker = connect(&url).await.unwrap();
        assert_eq!(matchmaker.backend_name(), "ring");
        assert_eq!(
            matchmaker.queues("fanout~scheduler").await.unwrap(),
            vec![
                Route::new("fanout~scheduler.node1", "node1"),
                Route::new("fanout~scheduler.node2", "node2"),
            ]
        );
    }

    #[tokio::test]
    async fn ring_url_with_a_missing_file_is_a_file_error() {
        let error = connect("ring:///nonexistent/ring.json").await.unwrap_err();
        assert!(matches!(error, Error::File { .. }), "{error:?}");
    }

    #[tokio::test]
    async fn ring_url_without_a_path_says_what_to_write() {
        let error = connect("ring://").await.unwrap_err();
        assert!(invalid_config_message(error).contains("ring:///etc/matchmaker/ring.json"));
    }
}

#[tokio::test]
async fn registrations_lists_what_this_process_registered() {
    let matchmaker = connect("memory://connect-own").await.unwrap();
    matchmaker.register("topic", "node1").await.unwrap();
    let own = matchmaker.registrations();
    assert_eq!(own, vec![matchmaker::Registration::new("topic", "node1")]);
    let other = connect("memory://connect-own").await.unwrap();
    assert!(other.registrations().is_empty());
    assert!(connect("stub://").await.unwrap().registrations().is_empty());
}

#[tokio::test]
async fn connected_matchmaker_debug_names_its_backend() {
    let matchmaker = connect("localhost://").await.unwrap();
    assert!(format!("{matchmaker:?}").contains("backend: \"localhost\""));
}
