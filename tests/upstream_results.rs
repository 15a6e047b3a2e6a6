//! The upstream matchmaker's exact results, through the facade: one test per result.
#![cfg(all(feature = "localhost", feature = "stub"))]

use std::sync::Arc;

use matchmaker::{
    DirectBinding, DirectExchange, FanoutBinding, MatchMaker, MatchMakerExt, Route,
    StaticMatchMaker, StubExchange, TopicBinding,
};

/// A route written as the upstream `(queue, host)` tuple.
fn route(queue: &str, host: Option<&str>) -> Route {
    Route::from((queue, host))
}

fn fanout_to_direct() -> StaticMatchMaker {
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_rule(FanoutBinding, DirectExchange);
    matchmaker
}

#[tokio::test]
async fn fanout_to_direct_rule_ignores_a_directed_key() {
    assert_eq!(fanout_to_direct().queues("hello.world").await.unwrap(), []);
}

#[tokio::test]
async fn fanout_to_direct_rule_sends_a_fanout_key_to_the_text_after_its_first_dot() {
    assert_eq!(
        fanout_to_direct()
            .queues("fanout~fantasy.unicorn")
            .await
            .unwrap(),
        [route("fanout~fantasy.unicorn", Some("unicorn"))]
    );
}

#[tokio::test]
async fn topic_to_stub_rule_returns_a_bare_topic_untouched_with_no_host() {
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_rule(TopicBinding, StubExchange);
    assert_eq!(
        matchmaker.queues("hello-world").await.unwrap(),
        [route("hello-world", None)]
    );
}

#[tokio::test]
async fn direct_to_stub_rule_returns_a_directed_key_untouched_with_no_host() {
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_rule(DirectBinding, StubExchange);
    assert_eq!(
        matchmaker.queues("hello.server").await.unwrap(),
        [route("hello.server", None)]
    );
}

#[tokio::test]
async fn direct_to_stub_rule_ignores_a_bare_topic() {
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_rule(DirectBinding, StubExchange);
    assert_eq!(matchmaker.queues("hello-world").await.unwrap(), []);
}

#[tokio::test]
async fn localhost_sends_a_directed_key_to_its_own_host() {
    let matchmaker = matchmaker::localhost::new("localhost").unwrap();
    assert_eq!(
        matchmaker.queues("hello.server").await.unwrap(),
        [route("hello.server", Some("server"))]
    );
}

#[tokio::test]
async fn localhost_sends_a_fanout_to_localhost_only() {
    let matchmaker = matchmaker::localhost::new("localhost").unwrap();
    assert_eq!(
        matchmaker.queues("fanout~testing.server").await.unwrap(),
        [route("fanout~testing.localhost", Some("localhost"))]
    );
}

#[tokio::test]
async fn localhost_sends_a_bare_topic_to_localhost() {
    let matchmaker = matchmaker::localhost::new("localhost").unwrap();
    assert_eq!(
        matchmaker.queues("hello-world").await.unwrap(),
        [route("hello-world.localhost", Some("localhost"))]
    );
}

#[tokio::test]
async fn a_rule_that_is_not_last_lets_the_next_matching_rule_add_its_routes() {
    let matchmaker = StaticMatchMaker::new();
    matchmaker.add_binding(Arc::new(DirectBinding), Arc::new(StubExchange), false);
    matchmaker.add_binding(Arc::new(DirectBinding), Arc::new(DirectExchange), true);
    assert_eq!(
        matchmaker.queues("a.b").await.unwrap(),
        [route("a.b", None), route("a.b", Some("b"))]
    );
}

#[tokio::test]
async fn stub_returns_fanout_directed_and_bare_keys_untouched_with_no_host() {
    let matchmaker = matchmaker::stub::new();
    for key in ["fanout~testing.server", "hello.server", "hello-world"] {
        assert_eq!(matchmaker.queues(key).await.unwrap(), [route(key, None)]);
    }
}
