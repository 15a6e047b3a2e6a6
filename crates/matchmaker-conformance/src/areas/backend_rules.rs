//! `exchange::` trials on the backend's own instance: its built-in rules and added rules.

use std::sync::Arc;

use async_trait::async_trait;
use libtest_mimic::Trial;
use matchmaker_core::{DirectBinding, Exchange, FanoutBinding, Route, Routes, TopicBinding};

use crate::capabilities::Need;
use crate::check::{ensure, expect_eq, expect_routes, lookup, Outcome};
use crate::suite::Plan;
use crate::{Context, Flavor};

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.backend(
            "exchange::localhost_backend_gives_the_upstream_results",
            &[Need::Localhost],
            localhost_backend_gives_the_upstream_results,
        ),
        plan.backend(
            "exchange::stub_backend_returns_every_key_untouched",
            &[Need::Stub],
            stub_backend_returns_every_key_untouched,
        ),
        plan.backend(
            "exchange::added_rules_come_after_the_builtin_rules",
            &[Need::KnownRules],
            added_rules_come_after_the_builtin_rules,
        ),
    ]
}

async fn localhost_backend_gives_the_upstream_results(cx: Context) -> Outcome {
    let Flavor::Localhost { host } = cx.capabilities().flavor.clone() else {
        return Err("not a localhost flavor".into());
    };
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_routes(
        matchmaker,
        "hello.server",
        vec![Route::new("hello.server", "server")],
    )
    .await?;
    expect_routes(
        matchmaker,
        "fanout~testing.server",
        vec![Route::new(format!("fanout~testing.{host}"), host.as_str())],
    )
    .await?;
    expect_routes(
        matchmaker,
        "hello-world",
        vec![Route::new(format!("hello-world.{host}"), host.as_str())],
    )
    .await?;
    expect_routes(matchmaker, "a.b.c", vec![Route::new("a.b.c", "b.c")]).await
}

async fn stub_backend_returns_every_key_untouched(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    for key in [
        "hello.server",
        "fanout~testing.server",
        "hello-world",
        "a.b.c",
    ] {
        expect_routes(&*matchmaker, key, vec![Route::hostless(key)]).await?;
    }
    Ok(())
}

/// Marks a route that only a rule added after the built-in ones would produce.
struct AddedRuleMarker;

const MARKER_QUEUE: &str = "added-rule-was-reached";

#[async_trait]
impl Exchange for AddedRuleMarker {
    async fn run(&self, _key: &str) -> matchmaker_core::Result<Routes> {
        Ok(Routes::one(Route::hostless(MARKER_QUEUE)))
    }
}

async fn added_rules_come_after_the_builtin_rules(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let keys = ["fanout~t", "t", "t.h1", "a.b.c"];
    let mut before = Vec::new();
    for key in keys {
        before.push(lookup(&*matchmaker, key).await?);
    }
    let marker: Arc<dyn Exchange> = Arc::new(AddedRuleMarker);
    matchmaker.add_binding(Arc::new(FanoutBinding), marker.clone(), true);
    matchmaker.add_binding(Arc::new(DirectBinding), marker.clone(), true);
    matchmaker.add_binding(Arc::new(TopicBinding), marker, true);
    for (key, before) in keys.into_iter().zip(before) {
        let after = lookup(&*matchmaker, key).await?;
        ensure!(
            after.iter().all(|route| route.queue() != MARKER_QUEUE),
            "queues({key:?}) reached a rule added after the built-in last rules: {after:?}"
        );
        expect_eq(&format!("queues({key:?}) after add_binding"), after, before)?;
    }
    Ok(())
}
