//! `exchange::` — exchanges and the rule engine on core types, with the upstream results.

use std::sync::Arc;

use libtest_mimic::Trial;
use matchmaker_core::{
    Binding, DirectBinding, DirectExchange, Exchange, FanoutBinding, LocalhostExchange, MatchMaker,
    Route, StaticMatchMaker, StubExchange, TopicBinding,
};

use crate::check::{expect_eq, expect_routes, Outcome, Step};
use crate::suite::Plan;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.local(
            "exchange::stub_exchange_returns_the_key_without_a_host",
            || async {
                for key in ["hello-world", "hello.server", "fanout~testing.server"] {
                    expect_run(&StubExchange, key, vec![Route::hostless(key)]).await?;
                }
                Ok(())
            },
        ),
        plan.local(
            "exchange::localhost_exchange_defaults_to_localhost",
            || async {
                let exchange = LocalhostExchange::default();
                expect_run(
                    &exchange,
                    "hello-world",
                    vec![Route::new("hello-world.localhost", "localhost")],
                )
                .await?;
                expect_run(
                    &exchange,
                    "hello.server",
                    vec![Route::new("hello.localhost", "localhost")],
                )
                .await
            },
        ),
        plan.local(
            "exchange::localhost_exchange_routes_to_its_custom_host",
            || async {
                let exchange = LocalhostExchange::new("node-1");
                expect_run(
                    &exchange,
                    "hello-world",
                    vec![Route::new("hello-world.node-1", "node-1")],
                )
                .await?;
                expect_run(
                    &exchange,
                    "fanout~testing.server",
                    vec![Route::new("fanout~testing.node-1", "node-1")],
                )
                .await
            },
        ),
        plan.local(
            "exchange::direct_exchange_routes_to_the_text_after_the_first_dot",
            || async {
                expect_run(
                    &DirectExchange,
                    "hello.server",
                    vec![Route::new("hello.server", "server")],
                )
                .await?;
                expect_run(&DirectExchange, "a.b.c", vec![Route::new("a.b.c", "b.c")]).await
            },
        ),
        plan.local(
            "exchange::rules_fanout_to_direct_give_the_upstream_results",
            || async {
                let matchmaker = rules(&[(fanout(), direct(), true)]);
                expect_routes(&matchmaker, "hello.world", vec![]).await?;
                expect_routes(
                    &matchmaker,
                    "fanout~fantasy.unicorn",
                    vec![Route::new("fanout~fantasy.unicorn", "unicorn")],
                )
                .await
            },
        ),
        plan.local(
            "exchange::rules_topic_to_stub_give_the_upstream_results",
            || async {
                let matchmaker = rules(&[(topic(), stub(), true)]);
                expect_routes(
                    &matchmaker,
                    "hello-world",
                    vec![Route::hostless("hello-world")],
                )
                .await
            },
        ),
        plan.local(
            "exchange::rules_direct_to_stub_give_the_upstream_results",
            || async {
                let matchmaker = rules(&[(direct_binding(), stub(), true)]);
                expect_routes(
                    &matchmaker,
                    "hello.server",
                    vec![Route::hostless("hello.server")],
                )
                .await?;
                expect_routes(&matchmaker, "hello-world", vec![]).await
            },
        ),
        plan.local(
            "exchange::non_last_rule_falls_through_to_the_next_matching_rule",
            || async {
                let matchmaker = rules(&[
                    (direct_binding(), stub(), false),
                    (direct_binding(), direct(), true),
                ]);
                expect_routes(
                    &matchmaker,
                    "a.b",
                    vec![Route::hostless("a.b"), Route::new("a.b", "b")],
                )
                .await
            },
        ),
        plan.local(
            "exchange::first_matching_last_rule_stops_the_lookup",
            || async {
                let matchmaker = rules(&[
                    (topic(), direct(), true),
                    (direct_binding(), stub(), true),
                    (direct_binding(), direct(), true),
                ]);
                expect_routes(&matchmaker, "a.b", vec![Route::hostless("a.b")]).await
            },
        ),
        plan.local("exchange::no_matching_rule_gives_an_empty_list", || async {
            expect_routes(&StaticMatchMaker::new(), "hello-world", vec![]).await?;
            let matchmaker = rules(&[(fanout(), stub(), true)]);
            expect_routes(&matchmaker, "hello-world", vec![]).await?;
            expect_routes(&matchmaker, "hello.server", vec![]).await
        }),
    ]
}

type Rule = (Arc<dyn Binding>, Arc<dyn Exchange>, bool);

/// A fresh empty `StaticMatchMaker` with `rules` added in order.
fn rules(rules: &[Rule]) -> StaticMatchMaker {
    let matchmaker = StaticMatchMaker::new();
    for (binding, exchange, last) in rules {
        matchmaker.add_binding(binding.clone(), exchange.clone(), *last);
    }
    matchmaker
}

fn fanout() -> Arc<dyn Binding> {
    Arc::new(FanoutBinding)
}

fn topic() -> Arc<dyn Binding> {
    Arc::new(TopicBinding)
}

fn direct_binding() -> Arc<dyn Binding> {
    Arc::new(DirectBinding)
}

fn direct() -> Arc<dyn Exchange> {
    Arc::new(DirectExchange)
}

fn stub() -> Arc<dyn Exchange> {
    Arc::new(StubExchange)
}

async fn expect_run(exchange: &dyn Exchange, key: &str, expected: Vec<Route>) -> Outcome {
    let actual = exchange
        .run(key)
        .await
        .map(Vec::from)
        .step(format_args!("run({key:?})"))?;
    expect_eq(&format!("run({key:?})"), actual, expected)
}
