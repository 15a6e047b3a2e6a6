//! `membership::` — membership streams: a snapshot first, then joins and leaves with their
//! metadata. Not in the original (it had no watch); every backend that can watch passes them.

use libtest_mimic::{Failed, Trial};
use matchmaker_core::{MembershipEvent, MembershipStream, Metadata, Registry};

use crate::capabilities::Need;
use crate::check::{eventually, expect_eq, Outcome, Step, PROPAGATION_LIMIT};
use crate::suite::Plan;
use crate::Context;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.backend(
            "membership::a_stream_starts_with_a_snapshot_of_the_members_then_yields_only_changes",
            &[Need::Heartbeat, Need::SharedRegistry],
            a_stream_starts_with_a_snapshot_of_the_members_then_yields_only_changes,
        ),
        plan.backend(
            "membership::a_join_event_carries_the_metadata_the_host_registered_with",
            &[Need::Heartbeat, Need::SharedRegistry],
            a_join_event_carries_the_metadata_the_host_registered_with,
        ),
    ]
}

/// A stream's first item is the membership the subscriber's instance sees, with metadata;
/// then a later join and a leave arrive, and nothing the snapshot showed is repeated as a join.
async fn a_stream_starts_with_a_snapshot_of_the_members_then_yields_only_changes(
    cx: Context,
) -> Outcome {
    let a = cx.registry().await?;
    let b = cx.registry().await?;
    let zone: Metadata = [("zone".to_owned(), "eu-1b".to_owned())].into();
    a.register_with("t", "h1", zone.clone())
        .await
        .step("register_with(t, h1, {zone})")?;
    a.register("u", "h9").await.step("register(u, h9)")?;
    eventually("B lists A's h1", PROPAGATION_LIMIT, || async {
        Ok(hosts(&*b, "t").await? == ["h1"])
    })
    .await?;
    let mut events = b.subscribe(Some("t")).step("subscribe(Some(\"t\"))")?;
    match next(&mut events, "B's first item").await? {
        MembershipEvent::Snapshot { members, lagged } => {
            expect_eq("the snapshot's lagged flag", lagged, false)?;
            let seen: Vec<_> = members
                .iter()
                .map(|member| {
                    (
                        member.topic.clone(),
                        member.host.clone(),
                        (*member.metadata).clone(),
                    )
                })
                .collect();
            expect_eq(
                "the snapshot of topic t",
                seen,
                vec![("t".to_owned(), "h1".to_owned(), zone)],
            )?;
        }
        other => return Err(format!("expected a snapshot first, got {other:?}").into()),
    }
    a.register("t", "h2").await.step("register(t, h2)")?;
    expect_eq(
        "the event after the snapshot",
        next(&mut events, "B's join of h2").await?,
        MembershipEvent::joined("t", "h2", Default::default()),
    )?;
    a.unregister("t", "h1").await.step("unregister(t, h1)")?;
    expect_eq(
        "the event after the join",
        next(&mut events, "B's leave of h1").await?,
        MembershipEvent::left("t", "h1"),
    )
}

/// Another instance's membership stream reports a join with the metadata it was registered
/// with, and a host registered without any with none.
async fn a_join_event_carries_the_metadata_the_host_registered_with(cx: Context) -> Outcome {
    let a = cx.registry().await?;
    let b = cx.registry().await?;
    let mut events = b.subscribe(Some("t")).step("subscribe(Some(\"t\"))")?;
    // The snapshot comes first; what is registered after it arrives as joins.
    match next(&mut events, "B's first item").await? {
        MembershipEvent::Snapshot { .. } => {}
        other => return Err(format!("expected a snapshot first, got {other:?}").into()),
    }
    let zone: Metadata = [("zone".to_owned(), "eu-1b".to_owned())].into();
    a.register_with("t", "h1", zone.clone())
        .await
        .step("register_with(t, h1, {zone})")?;
    a.register("t", "h2").await.step("register(t, h2)")?;
    let mut joined = std::collections::BTreeMap::new();
    while joined.len() < 2 {
        match next(&mut events, "B's joins").await? {
            MembershipEvent::Joined { host, metadata, .. } => {
                joined.insert(host, (*metadata).clone());
            }
            other => return Err(format!("expected joins only, got {other:?}").into()),
        }
    }
    let expected = [("h1".to_owned(), zone), ("h2".to_owned(), Metadata::new())].into();
    expect_eq("the joins B saw, with their metadata", joined, expected)
}

/// The next item of `events` within [`PROPAGATION_LIMIT`]; a failure if none comes or it ends.
async fn next(events: &mut MembershipStream, what: &str) -> Result<MembershipEvent, Failed> {
    let deadline = tokio::time::Instant::now() + PROPAGATION_LIMIT;
    match tokio::time::timeout_at(deadline, futures_util::StreamExt::next(events)).await {
        Err(_) => Err(format!("{what}: nothing within {PROPAGATION_LIMIT:?}").into()),
        Ok(None) => Err(format!("{what}: the membership stream ended").into()),
        Ok(Some(event)) => Ok(event),
    }
}

/// The hosts of `topic` that `registry` lists.
async fn hosts(registry: &dyn Registry, topic: &str) -> Result<Vec<String>, Failed> {
    let infos = registry.list(Some(topic)).await.step("list")?;
    Ok(infos.into_iter().map(|info| info.host).collect())
}
