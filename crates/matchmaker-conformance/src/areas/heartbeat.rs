//! `heartbeat::` — registrations and live lookups on a registry backend.

use libtest_mimic::Trial;
use matchmaker_core::Route;

use crate::capabilities::Need;
use crate::check::{
    ensure, eventually, expect_alive, expect_routes, expire, fanout_routes, lookup, register,
    unregister, Outcome, Step, PROPAGATION_LIMIT,
};
use crate::suite::Plan;
use crate::Context;

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    let heartbeat = &[Need::Heartbeat];
    vec![
        plan.backend(
            "heartbeat::register_then_is_alive",
            heartbeat,
            register_then_is_alive,
        ),
        plan.backend(
            "heartbeat::topic_lookup_returns_one_live_host",
            heartbeat,
            topic_lookup_returns_one_live_host,
        ),
        plan.backend(
            "heartbeat::topic_lookups_spread_over_every_live_host",
            heartbeat,
            topic_lookups_spread_over_every_live_host,
        ),
        plan.backend(
            "heartbeat::fanout_returns_all_live_hosts_in_stable_order",
            heartbeat,
            fanout_returns_all_live_hosts_in_stable_order,
        ),
        plan.backend(
            "heartbeat::direct_key_returns_the_key_itself",
            heartbeat,
            direct_key_returns_the_key_itself,
        ),
        plan.backend(
            "heartbeat::unregister_forgets_that_pair_only",
            heartbeat,
            unregister_forgets_that_pair_only,
        ),
        plan.backend(
            "heartbeat::unregister_keeps_other_topics_of_the_host",
            heartbeat,
            unregister_keeps_other_topics_of_the_host,
        ),
        plan.backend(
            "heartbeat::ack_alive_recreates_a_vanished_record",
            heartbeat,
            ack_alive_recreates_a_vanished_record,
        ),
        plan.backend(
            "heartbeat::dotted_topic_can_be_registered",
            heartbeat,
            dotted_topic_can_be_registered,
        ),
        plan.backend(
            "heartbeat::is_alive_of_unknown_pair_is_false",
            &[],
            is_alive_of_unknown_pair_is_false,
        ),
        plan.backend(
            "heartbeat::expire_removes_that_pair_only",
            heartbeat,
            expire_removes_that_pair_only,
        ),
        plan.backend(
            "heartbeat::another_instance_sees_registration_and_unregistration",
            &[Need::Heartbeat, Need::SharedRegistry],
            another_instance_sees_registration_and_unregistration,
        ),
    ]
}

async fn register_then_is_alive(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_alive(matchmaker, "t", "h1", false).await?;
    register(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", true).await?;
    expect_routes(matchmaker, "fanout~t", fanout_routes("t", &["h1"])).await
}

async fn topic_lookup_returns_one_live_host(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_routes(matchmaker, "t", vec![]).await?;
    let hosts = ["h1", "h2", "h3"];
    for host in hosts {
        register(matchmaker, "t", host).await?;
    }
    for _ in 0..12 {
        let routes = lookup(matchmaker, "t").await?;
        let [route] = routes.as_slice() else {
            return Err(
                format!("queues(\"t\"): expected exactly one route, got {routes:?}").into(),
            );
        };
        let live = hosts.iter().any(|host| {
            route.host.as_deref() == Some(*host) && route.queue() == format!("t.{host}")
        });
        ensure!(
            live,
            "queues(\"t\"): expected (\"t.<host>\", Some(<host>)) with host one of {hosts:?}, got {route:?}"
        );
    }
    Ok(())
}

/// The strategy (`random` by default, or `round-robin`) must reach every live host: a backend
/// that always picks the same one fails. With 3 hosts and 300 random picks the chance that a
/// host is never picked is about 3 x (2/3)^300, below 1e-52.
async fn topic_lookups_spread_over_every_live_host(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    let hosts = ["h1", "h2", "h3"];
    for host in hosts {
        register(matchmaker, "spread", host).await?;
    }
    let mut picked = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        for route in lookup(matchmaker, "spread").await? {
            *picked
                .entry(route.host().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }
    for host in hosts {
        ensure!(
            picked.get(host).copied().unwrap_or(0) > 0,
            "queues(\"spread\") never picked {host} in 300 lookups: {picked:?}"
        );
    }
    Ok(())
}

async fn fanout_returns_all_live_hosts_in_stable_order(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_routes(matchmaker, "fanout~t", vec![]).await?;
    // Registered out of order: the answer must be sorted, not insertion-ordered.
    for host in ["node-c", "node-a", "node-b"] {
        register(matchmaker, "t", host).await?;
    }
    let expected = fanout_routes("t", &["node-a", "node-b", "node-c"]);
    expect_routes(matchmaker, "fanout~t", expected.clone()).await?;
    expect_routes(matchmaker, "fanout~t", expected).await
}

async fn direct_key_returns_the_key_itself(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_routes(matchmaker, "t.h1", vec![Route::new("t.h1", "h1")]).await?;
    register(matchmaker, "t", "h1").await?;
    expect_routes(matchmaker, "t.h1", vec![Route::new("t.h1", "h1")]).await?;
    expect_routes(matchmaker, "t.b.c", vec![Route::new("t.b.c", "b.c")]).await
}

async fn unregister_forgets_that_pair_only(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    register(matchmaker, "t", "h2").await?;
    unregister(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    expect_alive(matchmaker, "t", "h2", true).await?;
    expect_routes(matchmaker, "fanout~t", fanout_routes("t", &["h2"])).await?;
    // A heartbeat must not bring the unregistered pair back.
    matchmaker
        .send_heartbeats()
        .await
        .step("send_heartbeats()")?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    expect_routes(matchmaker, "fanout~t", fanout_routes("t", &["h2"])).await
}

async fn unregister_keeps_other_topics_of_the_host(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "k1", "h").await?;
    register(matchmaker, "k2", "h").await?;
    unregister(matchmaker, "k1", "h").await?;
    expect_alive(matchmaker, "k2", "h", true).await?;
    expect_routes(matchmaker, "fanout~k2", fanout_routes("k2", &["h"])).await?;
    // Still in this process's heartbeats: a beat re-creates its vanished record.
    expire(matchmaker, "k2", "h").await?;
    expect_alive(matchmaker, "k2", "h", false).await?;
    matchmaker
        .send_heartbeats()
        .await
        .step("send_heartbeats()")?;
    expect_alive(matchmaker, "k2", "h", true).await?;
    expect_alive(matchmaker, "k1", "h", false).await
}

/// Upstream bug 1419718.
async fn ack_alive_recreates_a_vanished_record(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    expire(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    matchmaker
        .ack_alive("t", "h1")
        .await
        .step("ack_alive(\"t\", \"h1\")")?;
    expect_alive(matchmaker, "t", "h1", true).await?;
    expect_routes(matchmaker, "fanout~t", fanout_routes("t", &["h1"])).await
}

/// Upstream bug 1290772.
async fn dotted_topic_can_be_registered(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "l3_agent.node1", "hostA").await?;
    expect_alive(matchmaker, "l3_agent.node1", "hostA", true).await?;
    expect_routes(
        matchmaker,
        "fanout~l3_agent.node1",
        fanout_routes("l3_agent.node1", &["hostA"]),
    )
    .await?;
    expect_routes(matchmaker, "fanout~l3_agent", vec![]).await
}

async fn is_alive_of_unknown_pair_is_false(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    expect_alive(matchmaker, "t", "nobody", false).await?;
    register(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h2", false).await?;
    expect_alive(matchmaker, "other", "h1", false).await
}

async fn expire_removes_that_pair_only(cx: Context) -> Outcome {
    let matchmaker = cx.matchmaker().await?;
    let matchmaker = &*matchmaker;
    register(matchmaker, "t", "h1").await?;
    register(matchmaker, "t", "h2").await?;
    register(matchmaker, "u", "h1").await?;
    expire(matchmaker, "t", "h1").await?;
    expect_alive(matchmaker, "t", "h1", false).await?;
    expect_alive(matchmaker, "t", "h2", true).await?;
    expect_alive(matchmaker, "u", "h1", true).await?;
    expect_routes(matchmaker, "fanout~t", fanout_routes("t", &["h2"])).await?;
    expect_routes(matchmaker, "fanout~u", fanout_routes("u", &["h1"])).await
}

async fn another_instance_sees_registration_and_unregistration(cx: Context) -> Outcome {
    let a = cx.matchmaker().await?;
    let b = cx.matchmaker().await?;
    let (a, b) = (&*a, &*b);
    register(a, "t", "hA").await?;
    let seen_by_b = fanout_routes("t", &["hA"]);
    eventually(
        "B's fanout~t lists A's registration",
        PROPAGATION_LIMIT,
        || async { Ok(lookup(b, "fanout~t").await? == seen_by_b) },
    )
    .await?;
    register(b, "t", "hB").await?;
    let seen_by_a = fanout_routes("t", &["hA", "hB"]);
    eventually(
        "A's fanout~t lists both registrations",
        PROPAGATION_LIMIT,
        || async { Ok(lookup(a, "fanout~t").await? == seen_by_a) },
    )
    .await?;
    unregister(a, "t", "hA").await?;
    let after_leave = fanout_routes("t", &["hB"]);
    eventually(
        "B's fanout~t drops A after A.unregister",
        PROPAGATION_LIMIT,
        || async { Ok(lookup(b, "fanout~t").await? == after_leave) },
    )
    .await?;
    expect_alive(b, "t", "hA", false).await
}
