//! Behaviour of the ring backend, one test per rule.

mod warnings;

use std::io::Write;
use std::path::PathBuf;

use matchmaker_core::{Error, MatchMaker, Route};
use matchmaker_ring::Ring;
use warnings::WarningCounter;

const RING: &str = r#"{
    "scheduler": ["controller1", "node1", "node2"],
    "conductor": ["zeta", "alpha", "mid"],
    "empty": []
}"#;

fn ring_file(contents: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file
}

fn file_error(result: Result<impl std::fmt::Debug, Error>) -> (PathBuf, String) {
    match result {
        Err(Error::File { path, message }) => (path, message),
        other => panic!("expected Error::File, got {other:?}"),
    }
}

fn config_error(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::InvalidConfig(message)) => message,
        other => panic!("expected Error::InvalidConfig, got {other:?}"),
    }
}

async fn queue_names(matchmaker: &impl MatchMaker, key: &str) -> Vec<String> {
    let routes = matchmaker.queues(key).await.unwrap();
    routes
        .iter()
        .map(|route| route.queue().to_owned())
        .collect()
}

#[tokio::test]
async fn topic_lookup_is_round_robin_starting_at_the_first_host() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    let mut picked = Vec::new();
    for _ in 0..4 {
        picked.extend(matchmaker.queues("scheduler").await.unwrap());
    }
    let expected: Vec<Route> = ["controller1", "node1", "node2", "controller1"]
        .iter()
        .map(|host| Route::new(format!("scheduler.{host}"), *host))
        .collect();
    assert_eq!(picked, expected);
}

#[tokio::test]
async fn round_robin_turns_are_kept_per_topic() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    assert_eq!(
        queue_names(&matchmaker, "scheduler").await,
        ["scheduler.controller1"]
    );
    assert_eq!(
        queue_names(&matchmaker, "conductor").await,
        ["conductor.zeta"]
    );
    assert_eq!(
        queue_names(&matchmaker, "scheduler").await,
        ["scheduler.node1"]
    );
    assert_eq!(
        queue_names(&matchmaker, "conductor").await,
        ["conductor.alpha"]
    );
}

#[tokio::test]
async fn fanout_returns_every_host_in_file_order() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    assert_eq!(
        matchmaker.queues("fanout~conductor").await.unwrap(),
        vec![
            Route::new("fanout~conductor.zeta", "zeta"),
            Route::new("fanout~conductor.alpha", "alpha"),
            Route::new("fanout~conductor.mid", "mid"),
        ]
    );
}

#[tokio::test]
async fn direct_key_goes_to_its_own_host_without_consulting_the_ring() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    assert_eq!(
        matchmaker.queues("unknown.host-x.example").await.unwrap(),
        vec![Route::new("unknown.host-x.example", "host-x.example")]
    );
}

#[tokio::test]
async fn unknown_topic_gives_an_empty_result_and_a_warning() {
    let warnings = WarningCounter::install();
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    assert!(matchmaker.queues("nobody").await.unwrap().is_empty());
    assert!(matchmaker.queues("fanout~nobody").await.unwrap().is_empty());
    assert_eq!(warnings.count(), 2);
}

#[tokio::test]
async fn empty_host_list_gives_an_empty_result_and_a_warning_not_stop_iteration() {
    let warnings = WarningCounter::install();
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    assert!(matchmaker.queues("empty").await.unwrap().is_empty());
    assert!(matchmaker.queues("fanout~empty").await.unwrap().is_empty());
    assert_eq!(warnings.count(), 2);
}

#[tokio::test]
async fn registration_calls_validate_and_keep_nothing() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(RING).unwrap());
    matchmaker.register("scheduler", "node9").await.unwrap();
    assert!(!matchmaker.is_alive("scheduler", "node9").await.unwrap());
    assert_eq!(queue_names(&matchmaker, "fanout~scheduler").await.len(), 3);
    assert!(matches!(
        matchmaker.register("scheduler", "bad host").await,
        Err(Error::InvalidKey { .. })
    ));
}

#[tokio::test]
async fn from_file_reads_a_ring_file() {
    let file = ring_file(RING);
    let matchmaker = matchmaker_ring::from_file(file.path()).unwrap();
    assert_eq!(
        queue_names(&matchmaker, "scheduler").await,
        ["scheduler.controller1"]
    );
}

#[test]
fn topics_and_hosts_keep_file_order() {
    let ring = Ring::from_file(ring_file(RING).path()).unwrap();
    let topics: Vec<&str> = ring.iter().map(|(topic, _)| topic).collect();
    assert_eq!(topics, ["scheduler", "conductor", "empty"]);
    assert_eq!(ring.hosts("conductor").unwrap(), ["zeta", "alpha", "mid"]);
    assert_eq!(ring.hosts("nobody"), None);
    assert_eq!((ring.len(), ring.is_empty()), (3, false));
}

#[test]
fn ring_serializes_back_in_file_order() {
    let ring = Ring::from_json(RING).unwrap();
    let json = serde_json::to_string(&ring).unwrap();
    assert_eq!(
        json,
        r#"{"scheduler":["controller1","node1","node2"],"conductor":["zeta","alpha","mid"],"empty":[]}"#
    );
    assert_eq!(Ring::from_json(&json).unwrap(), ring);
}

#[test]
fn missing_file_is_a_file_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-ring.json");
    let (path, message) = file_error(Ring::from_file(&missing));
    assert_eq!(path, missing);
    assert!(message.contains("cannot read"), "{message}");
    let shown = matchmaker_ring::from_file(&missing)
        .unwrap_err()
        .to_string();
    assert!(shown.contains("no-such-ring.json"), "{shown}");
}

#[test]
fn bad_json_is_a_file_error_with_line_and_column() {
    let file = ring_file("{\n  \"scheduler\": [\"node1\",]\n}");
    let (path, message) = file_error(Ring::from_file(file.path()));
    assert_eq!(path, file.path());
    assert!(message.contains("line 2 column"), "{message}");
}

#[test]
fn invalid_host_in_file_names_the_topic_the_host_and_why() {
    let file = ring_file("{\n  \"scheduler\": [\"node1\", \"node 2\"]\n}");
    let (_, message) = file_error(Ring::from_file(file.path()));
    assert!(message.contains(r#"topic "scheduler""#), "{message}");
    assert!(message.contains(r#"host "node 2""#), "{message}");
    assert!(message.contains("may not contain"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn invalid_topics_in_a_ring_are_rejected_with_the_reason() {
    for (json, why) in [
        (r#"{"": ["h"]}"#, "topic \"\" is invalid"),
        (r#"{"fanout~x": ["h"]}"#, "fanout prefix"),
        (r#"{"a\u0001": ["h"]}"#, "control character"),
    ] {
        let message = config_error(Ring::from_json(json));
        assert!(message.contains(why), "{json}: {message}");
    }
}

#[tokio::test]
async fn a_dotted_ring_topic_is_kept_and_reached_by_its_fanout_like_the_original() {
    let ring = Ring::from_json(r#"{"l3_agent.node1": ["h1", "h2"]}"#).unwrap();
    let matchmaker = matchmaker_ring::new(ring);
    assert_eq!(
        queue_names(&matchmaker, "fanout~l3_agent.node1").await,
        ["fanout~l3_agent.node1.h1", "fanout~l3_agent.node1.h2"]
    );
    // A bare lookup of it is a directed key: topic `l3_agent`, host `node1`.
    assert_eq!(
        queue_names(&matchmaker, "l3_agent.node1").await,
        ["l3_agent.node1"]
    );
}

#[test]
fn a_topic_defined_twice_is_rejected() {
    let message = config_error(Ring::from_json(r#"{"a": ["h"], "a": ["g"]}"#));
    assert!(
        message.contains(r#"topic "a" is defined twice"#),
        "{message}"
    );
}

#[tokio::test]
async fn a_host_listed_twice_is_cycled_as_listed_like_the_original() {
    let ring = Ring::from_json(r#"{"a": ["h", "g", "h"]}"#).unwrap();
    assert_eq!(ring.hosts("a").unwrap(), ["h", "g", "h"]);
    let matchmaker = matchmaker_ring::new(ring);
    let mut turns = Vec::new();
    for _ in 0..6 {
        turns.extend(queue_names(&matchmaker, "a").await);
    }
    assert_eq!(turns, ["a.h", "a.g", "a.h", "a.h", "a.g", "a.h"]);
}

#[tokio::test]
async fn a_fanout_reaches_a_host_listed_twice_once() {
    let matchmaker = matchmaker_ring::new(Ring::from_json(r#"{"a": ["h", "g", "h"]}"#).unwrap());
    assert_eq!(
        queue_names(&matchmaker, "fanout~a").await,
        ["fanout~a.h", "fanout~a.g"]
    );
}

#[tokio::test]
async fn a_fanout_key_with_a_second_fanout_marker_looks_up_the_whole_rest() {
    let ring = Ring::from_json(r#"{"a": ["h"], "afanout~b": ["g"]}"#).unwrap();
    let matchmaker = matchmaker_ring::new(ring);
    // The original looked up "a" (the text between the two markers); the topic here is
    // everything after the leading `fanout~`, exactly as registered topics are validated.
    assert_eq!(
        queue_names(&matchmaker, "fanout~afanout~b").await,
        ["fanout~afanout~b.g"]
    );
    // A key whose topic itself starts with `fanout~` is refused before any lookup.
    assert!(matches!(
        matchmaker.queues("fanout~fanout~a").await,
        Err(Error::InvalidKey { .. })
    ));
}

#[test]
fn json_of_the_wrong_shape_says_what_a_ring_is() {
    let message = config_error(Ring::from_json(r#"["scheduler", "node1"]"#));
    assert!(
        message.contains("a JSON object mapping each topic"),
        "{message}"
    );
    let message = config_error(Ring::from_json(r#"{"scheduler": "node1"}"#));
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn from_map_builds_a_ring_in_iteration_order_and_validates_it() {
    let ring = Ring::from_map([("b", vec!["h2", "h1"]), ("a", vec![])]).unwrap();
    let topics: Vec<&str> = ring.iter().map(|(topic, _)| topic).collect();
    assert_eq!(topics, ["b", "a"]);
    assert_eq!(ring.hosts("b").unwrap(), ["h2", "h1"]);
    let message = config_error(Ring::from_map([("a", ["h/1"])]));
    assert!(message.contains(r#"host "h/1""#), "{message}");
}
