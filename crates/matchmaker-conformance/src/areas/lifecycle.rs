//! `heartbeat::` — the heartbeat task: start, stop, drop, and beats racing registrations.

use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use matchmaker_core::{Error, MatchMaker, Metadata, Registry};

use crate::capabilities::Need;
use crate::check::{
    alive, eventually, expect_alive, expect_eq, expect_routes, expire, fanout_routes, lookup,
    register, unregister, Outcome, Step, EXPIRY_SLACK, PROPAGATION_LIMIT,
};
use crate::suite::Plan;
use crate::Context;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.backend(
            "heartbeat::start_heartbeat_with_nothing_registered_fails",
            &[Need::Heartbeat],
            start_heartbeat_with_nothing_registered_fails,
        ),
        plan.backend(
            "heartbeat::start_heartbeat_beats_at_once",
            &[Need::Heartbeat, Need::Ttl],
            start_heartbeat_beats_at_once,
        ),
        plan.backend(
            "heartbeat::stop_is_idempotent_and_start_after_stop_works",
            &[Need::Heartbeat],
            stop_is_idempotent_and_start_after_stop_works,
        ),
        plan.backend(
            "heartbeat::dropping_the_matchmaker_stops_its_heartbeat",
            &[Need::Heartbeat, Need::Ttl, Need::SharedRegistry],
            dropping_the_matchmaker_stops_its_heartbeat,
        ),
        plan.backend(
            "heartbeat::drain_removes_every_registration_from_other_instances_without_a_ttl_wait",
            &[Need::Heartbeat, Need::Ttl, Need::SharedRegistry],
            drain_removes_every_registration_from_other_instances_without_a_ttl_wait,
        ),
        plan.backend(
            "heartbeat::metadata_is_stored_with_the_registration_and_read_back_by_list",
            &[Need::Heartbeat, Need::SharedRegistry],
            metadata_is_stored_with_the_registration_and_read_back_by_list,
        ),
        plan.backend(
            "heartbeat::send_heartbeats_during_concurrent_registration_succeeds",
            &[Need::Heartbeat],
            send_heartbeats_during_concurrent_registration_succeeds,
        ),
    ]
}

async fn start_heartbeat_with_nothing_registered_fails(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    expect_nothing_registered(matchmaker.start_heartbeat())?;
    // Registering and unregistering everything leaves nothing to beat for, again.
    register(&*matchmaker, "t", "h1").await?;
    unregister(&*matchmaker, "t", "h1").await?;
    expect_nothing_registered(matchmaker.start_heartbeat())
}

fn expect_nothing_registered(result: matchmaker_core::Result<()>) -> Outcome {
    match result {
        Err(error @ Error::NothingRegistered) => expect_eq(
            "Display of Error::NothingRegistered",
            error.to_string().as_str(),
            "Register before starting heartbeat.",
        ),
        other => Err(format!(
            "start_heartbeat() with nothing registered: expected Err(NothingRegistered), got {other:?}"
        )
        .into()),
    }
}

async fn start_heartbeat_beats_at_once(cx: Context) -> Outcome {
    let ttl = cx.capabilities().ttl.unwrap_or(Duration::ZERO);
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    expire(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    matchmaker.start_heartbeat().step("start_heartbeat()")?;
    // The default interval is TTL/3: a beat within TTL/4 is the immediate one.
    eventually(
        "the first beat, at once, re-creates the record",
        ttl / 4,
        || async { alive(matchmaker, "t", "h1").await },
    )
    .await?;
    matchmaker.stop_heartbeat();
    Ok(())
}

async fn stop_is_idempotent_and_start_after_stop_works(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    matchmaker.start_heartbeat().step("start_heartbeat()")?;
    matchmaker.stop_heartbeat();
    matchmaker.stop_heartbeat();
    if let Some(ttl) = cx.capabilities().ttl {
        // Stopped for good: nothing re-creates the record (any beat comes within the TTL).
        expire(matchmaker, "t", "h1").await?;
        tokio::time::sleep(ttl).await;
        expect_alive(matchmaker, "t", "h1", false).await?;
    }
    matchmaker
        .start_heartbeat()
        .step("start_heartbeat() after stop")?;
    if let Some(ttl) = cx.capabilities().ttl {
        // Running again: a beat re-creates the expired record.
        expire(matchmaker, "t", "h1").await?;
        eventually(
            "the restarted heartbeat re-creates the record",
            ttl + EXPIRY_SLACK,
            || async { alive(matchmaker, "t", "h1").await },
        )
        .await?;
    }
    matchmaker.stop_heartbeat();
    Ok(())
}

async fn dropping_the_matchmaker_stops_its_heartbeat(cx: Context) -> Outcome {
    let ttl = cx.capabilities().ttl.unwrap_or(Duration::ZERO);
    let a = cx.matchmaker().await?;
    let b = cx.matchmaker().await?;
    register(&*a, "t", "hA").await?;
    a.start_heartbeat().step("start_heartbeat()")?;
    eventually("B sees A alive", PROPAGATION_LIMIT, || async {
        alive(&*b, "t", "hA").await
    })
    .await?;
    drop(a);
    eventually(
        "A's registration expires in B's view after A is dropped",
        ttl + EXPIRY_SLACK,
        || async { Ok(!alive(&*b, "t", "hA").await?) },
    )
    .await?;
    expect_routes(&*b, "fanout~t", vec![]).await
}

/// Not in the original: `drain` removes everything this instance registered, so another
/// instance stops seeing it well before the TTL (half of it here) would have expired it.
async fn drain_removes_every_registration_from_other_instances_without_a_ttl_wait(
    cx: Context,
) -> Outcome {
    let ttl = cx.capabilities().ttl.unwrap_or(Duration::ZERO);
    let a = cx.matchmaker().await?;
    let b = cx.matchmaker().await?;
    register(&*a, "t", "hA").await?;
    register(&*a, "u", "hA").await?;
    register(&*b, "t", "hB").await?;
    a.start_heartbeat().step("start_heartbeat()")?;
    eventually(
        "B sees both of A's registrations",
        PROPAGATION_LIMIT,
        || async { Ok(alive(&*b, "t", "hA").await? && alive(&*b, "u", "hA").await?) },
    )
    .await?;
    a.drain(PROPAGATION_LIMIT).await.step("drain()")?;
    eventually(
        "B no longer sees A, well within the TTL",
        (ttl / 2).min(PROPAGATION_LIMIT),
        || async {
            Ok(!alive(&*b, "t", "hA").await?
                && !alive(&*b, "u", "hA").await?
                && lookup(&*b, "fanout~u").await?.is_empty())
        },
    )
    .await?;
    // Only A's registrations went; A has nothing left to beat for.
    expect_routes(&*b, "fanout~t", fanout_routes("t", &["hB"])).await?;
    match a.start_heartbeat() {
        Err(Error::NothingRegistered) => Ok(()),
        other => Err(format!(
            "start_heartbeat() after drain: expected NothingRegistered, got {other:?}"
        )
        .into()),
    }
}

/// Not in the original: `register_with` stores metadata once with the registration; another
/// instance's `list` reads it back, a second `register_with` replaces it, and invalid
/// metadata is `Error::InvalidMetadata` and changes nothing.
async fn metadata_is_stored_with_the_registration_and_read_back_by_list(cx: Context) -> Outcome {
    let a = cx.registry().await?;
    let b = cx.registry().await?;
    let metadata = |pairs: &[(&str, &str)]| -> Metadata {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    let first = metadata(&[("version", "1.4.2"), ("zone", "eu-west 1b")]);
    a.register_with("t", "h1", first.clone())
        .await
        .step("register_with(t, h1, {version, zone})")?;
    a.register("t", "h2").await.step("register(t, h2)")?;
    let expected = vec![("h1".to_owned(), first), ("h2".to_owned(), Metadata::new())];
    eventually(
        "B lists both with their metadata",
        PROPAGATION_LIMIT,
        || async { Ok(listed(&*b).await? == expected) },
    )
    .await?;

    let second = metadata(&[("version", "1.5.0")]);
    a.register_with("t", "h1", second.clone())
        .await
        .step("register_with(t, h1, {version}) again")?;
    let expected = vec![
        ("h1".to_owned(), second),
        ("h2".to_owned(), Metadata::new()),
    ];
    eventually(
        "B lists the replaced metadata",
        PROPAGATION_LIMIT,
        || async { Ok(listed(&*b).await? == expected) },
    )
    .await?;

    for bad in [
        metadata(&[("mm_topic", "x")]),
        metadata(&[("a key", "x")]),
        metadata(&[("zone", "evil\u{202e}")]),
    ] {
        match a.register_with("t", "h3", bad.clone()).await {
            Err(Error::InvalidMetadata { .. }) => {}
            other => {
                return Err(format!(
                    "register_with(t, h3, {bad:?}): expected InvalidMetadata, got {other:?}"
                )
                .into())
            }
        }
    }
    expect_alive(&*b, "t", "h3", false).await?;
    expect_eq(
        "B's listing after the refused ones",
        listed(&*b).await?,
        expected,
    )
}

/// `(host, metadata)` of every registration of topic `t` that `registry` lists.
async fn listed(registry: &dyn Registry) -> Result<Vec<(String, Metadata)>, Failed> {
    let infos = registry.list(Some("t")).await.step("list(Some(\"t\"))")?;
    Ok(infos
        .into_iter()
        .map(|info| (info.host, info.metadata))
        .collect())
}

/// Upstream bug 1432966: a beat while the registrations change must not fail.
async fn send_heartbeats_during_concurrent_registration_succeeds(cx: Context) -> Outcome {
    let matchmaker = cx.shared_matchmaker().await?;
    register(&*matchmaker, "t", "base").await?;
    let mut tasks = tokio::task::JoinSet::new();
    let beater = matchmaker.clone();
    tasks.spawn(async move {
        for round in 0..40 {
            beater
                .send_heartbeats()
                .await
                .step(format_args!("send_heartbeats() round {round}"))?;
            tokio::task::yield_now().await;
        }
        Ok::<_, Failed>(())
    });
    for worker in 0..4 {
        tasks.spawn(churn(matchmaker.clone(), worker));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| Failed::from(format!("a task failed: {error}")))??;
    }
    // Beats are over: the state is exactly what the workers left.
    matchmaker
        .send_heartbeats()
        .await
        .step("final send_heartbeats()")?;
    let mut expected = vec!["base".to_owned()];
    for worker in 0..4 {
        expected.extend(
            (0..10)
                .filter(|n| n % 2 == 1)
                .map(|n| churn_host(worker, n)),
        );
    }
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    expect_routes(&*matchmaker, "fanout~t", fanout_routes("t", &expected)).await
}

/// Registers ten hosts, unregistering the even ones, yielding between calls.
async fn churn(matchmaker: Arc<dyn MatchMaker>, worker: usize) -> Outcome {
    for n in 0..10 {
        let host = churn_host(worker, n);
        register(&*matchmaker, "t", &host).await?;
        tokio::task::yield_now().await;
        if n % 2 == 0 {
            unregister(&*matchmaker, "t", &host).await?;
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}

fn churn_host(worker: usize, n: usize) -> String {
    format!("w{worker}-h{n}")
}
