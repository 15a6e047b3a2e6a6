//! `heartbeat::` trials for static backends: registration calls validate and keep nothing.

use libtest_mimic::Trial;
use matchmaker_core::{MatchMaker, Route};

use crate::capabilities::Need;
use crate::check::{expect_alive, expect_eq, expire, lookup, register, unregister, Outcome, Step};
use crate::suite::Plan;
use crate::Context;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.backend(
            "heartbeat::static_backend_accepts_registrations_and_keeps_nothing",
            &[Need::Static],
            static_backend_accepts_registrations_and_keeps_nothing,
        ),
        plan.backend(
            "heartbeat::static_backend_heartbeat_calls_are_no_ops",
            &[Need::Static],
            static_backend_heartbeat_calls_are_no_ops,
        ),
    ]
}

const PROBE_KEYS: [&str; 3] = ["t", "fanout~t", "t.h1"];

async fn probe(matchmaker: &dyn MatchMaker) -> Result<Vec<Vec<Route>>, libtest_mimic::Failed> {
    let mut answers = Vec::new();
    for key in PROBE_KEYS {
        answers.push(lookup(matchmaker, key).await?);
    }
    Ok(answers)
}

async fn static_backend_accepts_registrations_and_keeps_nothing(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    let before = probe(matchmaker).await?;
    register(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    matchmaker
        .ack_alive("t", "h1")
        .await
        .step("ack_alive(\"t\", \"h1\")")?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    expire(matchmaker, "t", "h1").await?;
    unregister(matchmaker, "t", "h1").await?;
    expect_eq(
        "lookups of t, fanout~t, t.h1 after registration calls",
        probe(matchmaker).await?,
        before,
    )
}

async fn static_backend_heartbeat_calls_are_no_ops(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    let before = probe(matchmaker).await?;
    matchmaker
        .start_heartbeat()
        .step("start_heartbeat() with nothing registered")?;
    matchmaker.stop_heartbeat();
    matchmaker.stop_heartbeat();
    register(matchmaker, "t", "h1").await?;
    matchmaker.start_heartbeat().step("start_heartbeat()")?;
    matchmaker
        .send_heartbeats()
        .await
        .step("send_heartbeats()")?;
    matchmaker.stop_heartbeat();
    matchmaker
        .drain(std::time::Duration::from_secs(1))
        .await
        .step("drain()")?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    expect_eq(
        "lookups after heartbeat calls",
        probe(matchmaker).await?,
        before,
    )
}
