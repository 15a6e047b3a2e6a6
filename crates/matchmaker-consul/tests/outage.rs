//! The agent unreachable from this process while it keeps running: what failed meanwhile is
//! completed once it answers again.

mod support;

use std::time::Duration;

use matchmaker_core::{Error, MatchMaker};
use support::proxy::CuttableProxy;
use support::{config_for, connect, eventually, shared_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregister_that_failed_while_the_agent_was_unreachable_is_completed_by_a_beat() {
    let test = "unregister_during_an_outage";
    let Some(direct) = shared_config(test, Duration::from_secs(3)) else {
        return;
    };
    let proxy = CuttableProxy::start(&direct.address).await;
    let mut config = config_for(proxy.addr(), &direct.namespace, Duration::from_secs(3));
    config.request_timeout = Duration::from_secs(2);
    let holder = connect(config).await;
    holder.register("scheduler", "host-a").await.unwrap();
    holder.register("scheduler", "host-b").await.unwrap();

    proxy.cut();
    let outcome = holder.unregister("scheduler", "host-a").await;
    assert!(
        matches!(outcome, Err(Error::Unavailable { .. })),
        "{outcome:?}"
    );
    proxy.restore();

    // host-a's service aliases the instance check, which the beats keep passing: without the
    // retry it would stay alive as long as this process runs.
    let beat_again = eventually(Duration::from_secs(15), || async {
        holder.send_heartbeats().await.is_ok()
    })
    .await;
    assert!(beat_again, "heartbeats never succeeded again");
    let observer = connect(direct).await;
    let listed: Vec<(String, bool)> = observer
        .list(Some("scheduler"))
        .await
        .unwrap()
        .into_iter()
        .map(|info| (info.host, info.alive))
        .collect();
    assert_eq!(listed, [("host-b".to_owned(), true)]);
    observer.backend().purge_namespace().await.unwrap();
}
