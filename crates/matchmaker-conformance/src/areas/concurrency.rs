//! `concurrency::` — many tasks registering, unregistering and looking up at once.

use std::sync::Arc;

use libtest_mimic::{Failed, Trial};
use matchmaker_core::MatchMaker;

use crate::capabilities::Need;
use crate::check::{
    ensure, eventually, expect_eq, fanout_routes, lookup, register, unregister, Outcome, Step,
    PROPAGATION_LIMIT,
};
use crate::suite::Plan;
use crate::Context;

const TASKS: usize = 32;
/// Hosts each task registers; with a lookup after each and unregistering half, 20 calls.
const HOSTS_PER_TASK: usize = 8;
const TOPIC: &str = "busy";

pub(crate) fn trials(plan: &Plan) -> Vec<Trial> {
    vec![
        plan.backend(
            "concurrency::concurrent_registrations_on_one_instance_end_in_the_exact_state",
            &[Need::Heartbeat],
            |cx| concurrent_registrations(cx, 1),
        ),
        plan.backend(
            "concurrency::concurrent_registrations_across_two_instances_end_in_the_exact_state",
            &[Need::Heartbeat, Need::SharedRegistry],
            |cx| concurrent_registrations(cx, 2),
        ),
        plan.backend(
            "concurrency::concurrent_lookups_on_a_static_backend_agree",
            &[Need::Static],
            concurrent_lookups_on_a_static_backend_agree,
        ),
    ]
}

fn host(task: usize, n: usize) -> String {
    format!("task{task:02}-host{n}")
}

/// The hosts left registered: each task unregisters its even-numbered hosts.
fn expected_hosts() -> Vec<String> {
    (0..TASKS)
        .flat_map(|task| {
            (0..HOSTS_PER_TASK)
                .filter(|n| n % 2 == 1)
                .map(move |n| host(task, n))
        })
        .collect()
}

async fn concurrent_registrations(cx: Context, instances: usize) -> Outcome {
    let mut matchmakers: Vec<Arc<dyn MatchMaker>> = Vec::new();
    for index in 0..instances {
        let matchmaker = cx.shared_matchmaker().await?;
        // A heartbeat keeps everything alive however long the trial takes on a short TTL.
        register(&*matchmaker, "keepalive", &format!("instance{index}")).await?;
        matchmaker.start_heartbeat().step("start_heartbeat()")?;
        matchmakers.push(matchmaker);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        tasks.spawn(register_and_look_up(
            matchmakers[task % instances].clone(),
            task,
        ));
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| Failed::from(format!("a task failed: {error}")))??;
    }
    let expected_hosts = expected_hosts();
    let expected_hosts: Vec<&str> = expected_hosts.iter().map(String::as_str).collect();
    let expected = fanout_routes(TOPIC, &expected_hosts);
    for (index, matchmaker) in matchmakers.iter().enumerate() {
        let matchmaker = &**matchmaker;
        let what = format!("instance {index}'s fanout~{TOPIC} equals what the tasks left");
        eventually(&what, PROPAGATION_LIMIT, || async {
            Ok(lookup(matchmaker, &format!("fanout~{TOPIC}")).await? == expected)
        })
        .await
        .map_err(|failed| {
            let detail = failed.message().unwrap_or_default().to_owned();
            Failed::from(format!("{detail} (expected {} hosts)", expected.len()))
        })?;
    }
    for matchmaker in &matchmakers {
        matchmaker.stop_heartbeat();
    }
    Ok(())
}

/// Registers this task's hosts with a lookup after each, then unregisters the even ones.
async fn register_and_look_up(matchmaker: Arc<dyn MatchMaker>, task: usize) -> Outcome {
    let fanout_key = format!("fanout~{TOPIC}");
    for n in 0..HOSTS_PER_TASK {
        let host = host(task, n);
        register(&*matchmaker, TOPIC, &host).await?;
        let routes = lookup(&*matchmaker, &fanout_key).await?;
        ensure!(
            routes.iter().any(|route| route.host.as_deref() == Some(host.as_str())),
            "task {task}: fanout~{TOPIC} right after register({TOPIC:?}, {host:?}) lacks it: {routes:?}"
        );
        tokio::task::yield_now().await;
    }
    for n in (0..HOSTS_PER_TASK).filter(|n| n % 2 == 0) {
        unregister(&*matchmaker, TOPIC, &host(task, n)).await?;
        tokio::task::yield_now().await;
    }
    Ok(())
}

async fn concurrent_lookups_on_a_static_backend_agree(cx: Context) -> Outcome {
    let matchmaker = cx.shared_matchmaker().await?;
    let keys = ["t", "fanout~t", "t.h1"];
    let mut reference = Vec::new();
    for key in keys {
        reference.push(lookup(&*matchmaker, key).await?);
    }
    let reference = Arc::new(reference);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (matchmaker, reference) = (matchmaker.clone(), reference.clone());
        tasks.spawn(async move {
            for round in 0..5 {
                let host = format!("task{task}-{round}");
                register(&*matchmaker, "t", &host).await?;
                for (key, expected) in keys.iter().zip(reference.iter()) {
                    expect_eq(
                        &format!("task {task}: queues({key:?})"),
                        &lookup(&*matchmaker, key).await?,
                        expected,
                    )?;
                }
                unregister(&*matchmaker, "t", &host).await?;
            }
            Ok::<_, Failed>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|error| Failed::from(format!("a task failed: {error}")))??;
    }
    Ok(())
}
