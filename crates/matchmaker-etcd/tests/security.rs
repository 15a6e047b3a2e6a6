//! TLS with a test CA and user/password auth, each against an etcd started for the test.

use matchmaker_core::{Error, MatchMaker};
use matchmaker_etcd::{EtcdConfig, EtcdTls};
use matchmaker_testkit::etcd::EtcdOptions;
use matchmaker_testkit::pki::write_pki;

mod support;
use support::{config, fanout_hosts, own_server, random_prefix, restart};

/// The password of etcd's `root` user once [`enable_root_password`] has run.
const ROOT_PASSWORD: &str = "root-secret";

/// Creates etcd's `root` user with [`ROOT_PASSWORD`] and turns authentication on.
async fn enable_root_password(endpoints: &[String]) {
    let mut raw = support::raw_client(endpoints).await;
    raw.user_add("root", ROOT_PASSWORD, None).await.unwrap();
    raw.user_grant_role("root", "root").await.unwrap();
    raw.auth_enable().await.unwrap();
}

/// The test config for `endpoints` and `prefix`, signed in as `root`.
fn config_as_root(endpoints: &[String], prefix: &str) -> EtcdConfig {
    EtcdConfig {
        user: Some("root".into()),
        password: Some(ROOT_PASSWORD.into()),
        ..config(endpoints, prefix)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_ca_and_client_certificate_works_and_no_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let options = EtcdOptions {
        tls: Some(pki.server_files()),
        client_cert_auth: true,
    };
    let Some(server) = own_server("tls_with_a_test_ca", options) else {
        return;
    };
    let prefix = random_prefix("tls");
    let tls_config = EtcdConfig {
        tls: Some(EtcdTls {
            ca: Some(pki.ca.clone()),
            cert: Some(pki.client_cert.clone()),
            key: Some(pki.client_key.clone()),
            domain: None,
        }),
        ..config(&server.endpoints(), &prefix)
    };
    let matchmaker = matchmaker_etcd::connect(tls_config.clone()).await.unwrap();
    matchmaker.register("secure", "host-a").await.unwrap();
    assert_eq!(fanout_hosts(&matchmaker, "secure").await, ["host-a"]);
    assert!(matchmaker.is_alive("secure", "host-a").await.unwrap());

    let without_client_cert = EtcdConfig {
        tls: Some(EtcdTls {
            ca: Some(pki.ca.clone()),
            ..EtcdTls::default()
        }),
        ..tls_config.clone()
    };
    let refused = matchmaker_etcd::connect(without_client_cert).await;
    assert!(
        matches!(
            refused,
            Err(Error::Unavailable { .. } | Error::Unauthorized { .. })
        ),
        "{:?}",
        refused.map(|_| ())
    );

    let plain = EtcdConfig {
        tls: None,
        ..tls_config
    };
    assert!(matchmaker_etcd::connect(plain).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tls_file_is_a_typed_file_error() {
    let config = EtcdConfig {
        tls: Some(EtcdTls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..EtcdTls::default()
        }),
        ..EtcdConfig::default()
    };
    let error = matchmaker_etcd::connect(config).await.unwrap_err();
    assert!(matches!(error, Error::File { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth_works_and_a_wrong_password_is_unauthorized() {
    let Some(server) = own_server("password_auth", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    enable_root_password(&endpoints).await;

    let prefix = random_prefix("auth");
    let good = config_as_root(&endpoints, &prefix);
    let matchmaker = matchmaker_etcd::connect(good.clone()).await.unwrap();
    matchmaker.register("guarded", "host-a").await.unwrap();
    matchmaker.send_heartbeats().await.unwrap();
    assert_eq!(fanout_hosts(&matchmaker, "guarded").await, ["host-a"]);

    let wrong = EtcdConfig {
        password: Some("not-the-password".into()),
        ..good.clone()
    };
    let error = matchmaker_etcd::connect(wrong).await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error}");
    assert!(!error.to_string().contains("not-the-password"), "{error}");

    let anonymous = EtcdConfig {
        user: None,
        password: None,
        ..good
    };
    let error = matchmaker_etcd::connect(anonymous).await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth_keeps_working_across_an_etcd_restart() {
    let Some(mut server) = own_server("password_auth_restart", EtcdOptions::default()) else {
        return;
    };
    let endpoints = server.endpoints();
    enable_root_password(&endpoints).await;
    let prefix = random_prefix("auth-restart");
    let config = config_as_root(&endpoints, &prefix);
    let a = matchmaker_etcd::connect(config.clone()).await.unwrap();
    let b = matchmaker_etcd::connect(config).await.unwrap();
    a.register("guarded", "host-a").await.unwrap();

    server.kill();
    let server = restart(server).await.expect("etcd restarts");

    // Requests and re-opened streams (keep-alive, watch) work again with the same credentials.
    let beating = support::eventually(std::time::Duration::from_secs(10), || async {
        a.send_heartbeats().await.is_ok()
    })
    .await;
    assert!(
        beating.is_some(),
        "heartbeats never worked again after the restart"
    );
    a.register("guarded", "host-c").await.unwrap();
    let recovered = support::eventually(std::time::Duration::from_secs(10), || async {
        fanout_hosts(&b, "guarded").await == ["host-a", "host-c"]
    })
    .await;
    assert!(
        recovered.is_some(),
        "B's watch did not come back: {:?}",
        b.backend().cache_status()
    );
    drop(server);
}
