//! An ACL-enabled agent (default deny) whose ACL system the test bootstraps itself refuses a
//! missing token with a clear error, and accepts the token the test bootstrapped.

mod support;

use std::time::Duration;

use matchmaker_core::{Error, MatchMaker};
use matchmaker_testkit::consul::ConsulOptions;
use support::{config_for, connect, fanout_hosts, own_agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_agent_rejects_a_missing_token_with_unauthorized() {
    let options = ConsulOptions {
        acl: true,
        acl_bootstrap_by_test: true,
        ..ConsulOptions::default()
    };
    let Some(agent) = own_agent("acl_missing_token", options) else {
        return;
    };
    // Make sure CONSUL_HTTP_TOKEN from the environment cannot supply one.
    std::env::remove_var(matchmaker_consul::TOKEN_ENV);
    let config = config_for(&agent.addr(), "acl", Duration::from_secs(5));
    let error = matchmaker_consul::connect(config).await.unwrap_err();
    let Error::Unauthorized { backend, message } = &error else {
        panic!("expected Unauthorized, got {error:?}");
    };
    assert_eq!(*backend, "consul");
    assert!(message.contains("token"), "{message}");
    assert!(message.contains("CONSUL_HTTP_TOKEN"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_agent_accepts_the_token_the_test_bootstrapped() {
    let options = ConsulOptions {
        acl: true,
        acl_bootstrap_by_test: true,
        ..ConsulOptions::default()
    };
    let Some(agent) = own_agent("acl_with_token", options) else {
        return;
    };
    assert!(agent.management_token().is_none(), "no preset master token");
    let token = agent
        .bootstrap_acl()
        .expect("the test bootstraps the ACL system");
    let mut config = config_for(&agent.addr(), "acl", Duration::from_secs(5));
    config.token = Some(token);
    let matchmaker = connect(config).await;
    matchmaker.register("secured", "node-a").await.unwrap();
    assert_eq!(
        fanout_hosts(&matchmaker, "secured").await,
        vec!["node-a".to_owned()]
    );
    assert!(matchmaker.is_alive("secured", "node-a").await.unwrap());
}
