//! Building a matchmaker from a TOML file and from environment variables.
#![cfg(feature = "memory")]

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use matchmaker::{from_config_file, ConnectConfig, Error, Strategy};

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
async fn config_file_with_url_and_heartbeat_table_connects() {
    let file = write_config(
        "url = \"memory://config-file\"\n[heartbeat]\nttl = \"4s\"\ninterval = \"1s\"\nstrategy = \"round-robin\"\n",
    );
    let matchmaker = from_config_file(file.path()).await.unwrap();
    let heartbeat = matchmaker.heartbeat_config().unwrap();
    assert_eq!(heartbeat.ttl, Duration::from_secs(4));
    assert_eq!(heartbeat.interval(), Duration::from_secs(1));
    assert_eq!(heartbeat.strategy, Strategy::RoundRobin);
}

#[test]
fn missing_config_file_is_a_file_error_naming_the_path() {
    let error = ConnectConfig::from_file("/nonexistent/matchmaker.toml").unwrap_err();
    match error {
        Error::File { path, .. } => assert_eq!(path.to_str(), Some("/nonexistent/matchmaker.toml")),
        other => panic!("expected a File error, got {other:?}"),
    }
}

#[test]
fn malformed_config_file_is_a_file_error() {
    let file = write_config("url = \n");
    assert!(matches!(
        ConnectConfig::from_file(file.path()),
        Err(Error::File { .. })
    ));
}

#[test]
fn unknown_config_key_is_rejected() {
    let error = ConnectConfig::from_toml_str("url = \"memory://\"\nttl = \"3s\"\n").unwrap_err();
    assert!(error.to_string().contains("unknown field"), "{error}");
}

#[test]
fn url_and_a_backend_table_together_are_rejected() {
    let error =
        ConnectConfig::from_toml_str("url = \"memory://\"\n[etcd]\nendpoints = []\n").unwrap_err();
    assert!(error.to_string().contains("keep one of them"), "{error}");
}

#[test]
fn config_without_url_or_backend_table_says_what_to_add() {
    let error = ConnectConfig::from_toml_str("[heartbeat]\nttl = \"3s\"\n").unwrap_err();
    assert!(error.to_string().contains("set url"), "{error}");
}

#[test]
fn backend_table_alone_selects_its_backend() {
    let config =
        ConnectConfig::from_toml_str("[etcd]\nendpoints = [\"127.0.0.1:2379\"]\n").unwrap();
    assert!(config.url.is_none());
    assert!(config.etcd.is_some());
}

#[cfg(feature = "etcd")]
#[tokio::test]
async fn invalid_field_in_the_etcd_table_is_rejected_naming_the_table() {
    let config = ConnectConfig::from_toml_str("[etcd]\ncolour = \"blue\"\n").unwrap();
    let error = matchmaker::connect_with(&config).await.unwrap_err();
    assert!(error.to_string().contains("[etcd] table"), "{error}");
}

#[test]
fn environment_url_and_heartbeat_variables_are_read() {
    let config = ConnectConfig::from_env_vars(env(&[
        ("MATCHMAKER_URL", "memory://env"),
        ("MATCHMAKER_TTL", "6s"),
        ("MATCHMAKER_HEARTBEAT_INTERVAL", "1500ms"),
        ("MATCHMAKER_STRATEGY", "round-robin"),
    ]))
    .unwrap();
    assert_eq!(config.url.as_deref(), Some("memory://env"));
    let heartbeat = config.heartbeat.unwrap();
    assert_eq!(heartbeat.ttl, Duration::from_secs(6));
    assert_eq!(heartbeat.interval(), Duration::from_millis(1500));
    assert_eq!(heartbeat.strategy, Strategy::RoundRobin);
}

#[test]
fn environment_without_heartbeat_variables_leaves_backend_defaults() {
    let config = ConnectConfig::from_env_vars(env(&[("MATCHMAKER_URL", "stub://")])).unwrap();
    assert_eq!(config, ConnectConfig::new("stub://"));
}

#[test]
fn missing_url_variable_says_what_to_set() {
    let error = ConnectConfig::from_env_vars(env(&[])).unwrap_err();
    assert!(
        error.to_string().contains("MATCHMAKER_URL is not set"),
        "{error}"
    );
}

#[test]
fn unparsable_ttl_variable_is_rejected_with_an_example() {
    let error = ConnectConfig::from_env_vars(env(&[
        ("MATCHMAKER_URL", "memory://"),
        ("MATCHMAKER_TTL", "ten seconds"),
    ]))
    .unwrap_err();
    assert!(
        error.to_string().contains("write 10 (seconds), 10s"),
        "{error}"
    );
}

#[test]
fn unknown_strategy_variable_is_rejected() {
    let error = ConnectConfig::from_env_vars(env(&[
        ("MATCHMAKER_URL", "memory://"),
        ("MATCHMAKER_STRATEGY", "fastest"),
    ]))
    .unwrap_err();
    assert!(
        error.to_string().contains("known: random, round-robin"),
        "{error}"
    );
}
