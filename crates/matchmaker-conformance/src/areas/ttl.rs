//! `ttl::` — expiry of registrations that are not refreshed.

use std::time::Duration;

use libtest_mimic::Trial;

use crate::capabilities::Need;
use crate::check::{
    alive, eventually, expect_alive, expect_routes, fanout_routes, lookup, register, throughout,
    Outcome, Step, EXPIRY_SLACK, PROPAGATION_LIMIT,
};
use crate::suite::Plan;
use crate::Context;

/// How late a host that stopped heartbeating may still show in another instance's lookups.
const LEAVE_SLACK: Duration = Duration::from_secs(1);

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    let needs = &[Need::Heartbeat, Need::Ttl];
    vec![
        plan.backend(
            "ttl::unrefreshed_registration_expires_after_the_ttl",
            needs,
            unrefreshed_registration_expires_after_the_ttl,
        ),
        plan.backend(
            "ttl::heartbeating_registration_stays_alive_past_twice_the_ttl",
            needs,
            heartbeating_registration_stays_alive_past_twice_the_ttl,
        ),
        plan.backend(
            "ttl::stopped_heartbeat_lets_the_registration_expire",
            needs,
            stopped_heartbeat_lets_the_registration_expire,
        ),
        plan.backend(
            "ttl::host_that_stops_heartbeating_leaves_other_instances_lookups",
            &[Need::Heartbeat, Need::Ttl, Need::SharedRegistry],
            host_that_stops_heartbeating_leaves_other_instances_lookups,
        ),
    ]
}

fn ttl(cx: &Context) -> Duration {
    cx.capabilities().ttl.unwrap_or(Duration::ZERO)
}

async fn unrefreshed_registration_expires_after_the_ttl(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", true).await?;
    eventually(
        "the unrefreshed registration is gone from is_alive and fanout",
        ttl(&cx) + EXPIRY_SLACK,
        || async {
            Ok(!alive(matchmaker, "t", "h1").await?
                && lookup(matchmaker, "fanout~t").await?.is_empty())
        },
    )
    .await
}

async fn heartbeating_registration_stays_alive_past_twice_the_ttl(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    matchmaker.start_heartbeat().step("start_heartbeat()")?;
    let expected = fanout_routes("t", &["h1"]);
    let ttl = ttl(&cx);
    throughout(
        "the heartbeating registration is alive and listed",
        ttl * 2 + ttl / 2,
        || async {
            Ok(alive(matchmaker, "t", "h1").await?
                && lookup(matchmaker, "fanout~t").await? == expected)
        },
    )
    .await?;
    matchmaker.stop_heartbeat();
    Ok(())
}

async fn stopped_heartbeat_lets_the_registration_expire(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    let ttl = ttl(&cx);
    register(matchmaker, "t", "h1").await?;
    matchmaker.start_heartbeat().step("start_heartbeat()")?;
    tokio::time::sleep(ttl / 2).await;
    expect_alive(matchmaker, "t", "h1", true).await?;
    matchmaker.stop_heartbeat();
    // Both views must drop it within the bound: `is_alive` may ask the registry directly while
    // lookups read a cache that a watch feeds a few milliseconds later.
    eventually(
        "the registration expires after stop_heartbeat, for is_alive and for lookups",
        ttl + EXPIRY_SLACK,
        || async {
            Ok(!alive(matchmaker, "t", "h1").await?
                && lookup(matchmaker, "fanout~t").await?.is_empty())
        },
    )
    .await?;
    expect_routes(matchmaker, "fanout~t", vec![]).await
}

async fn host_that_stops_heartbeating_leaves_other_instances_lookups(cx: Context) -> Outcome {
    let ttl = ttl(&cx);
    let a = cx.matchmaker().await?;
    let b = cx.matchmaker().await?;
    let (a, b) = (&*a, &*b);
    register(a, "t", "hA").await?;
    register(b, "t", "hB").await?;
    a.start_heartbeat().step("A.start_heartbeat()")?;
    b.start_heartbeat().step("B.start_heartbeat()")?;
    let both = fanout_routes("t", &["hA", "hB"]);
    eventually(
        "B's fanout~t lists both hosts",
        PROPAGATION_LIMIT,
        || async { Ok(lookup(b, "fanout~t").await? == both) },
    )
    .await?;
    a.stop_heartbeat();
    let only_b = fanout_routes("t", &["hB"]);
    eventually(
        "B's fanout~t drops A once A stopped heartbeating",
        ttl + LEAVE_SLACK,
        || async { Ok(lookup(b, "fanout~t").await? == only_b) },
    )
    .await?;
    b.stop_heartbeat();
    Ok(())
}
