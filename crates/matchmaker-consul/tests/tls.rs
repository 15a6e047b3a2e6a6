//! The backend against a real Consul agent serving its API over HTTPS with a test CA and
//! requiring client certificates: it works with the certificates, and is refused without them.

mod support;

use std::time::Duration;

use matchmaker_consul::{ConsulConfig, Scheme, TlsConfig};
use matchmaker_core::MatchMaker;
use matchmaker_testkit::consul::ConsulOptions;
use matchmaker_testkit::pki::write_pki;
use support::{config_for, fanout_hosts, own_agent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_test_ca_and_client_certificate_works_and_no_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = write_pki(dir.path());
    let options = ConsulOptions {
        tls: Some(pki.server_files()),
        ..ConsulOptions::default()
    };
    let Some(agent) = own_agent("consul_https", options) else {
        return;
    };
    let https = agent.https_addr().expect("the agent serves HTTPS");
    let secure = ConsulConfig {
        scheme: Scheme::Https,
        tls: Some(TlsConfig {
            ca: Some(pki.ca.clone()),
            cert: Some(pki.client_cert.clone()),
            key: Some(pki.client_key.clone()),
        }),
        ..config_for(&https, "tls", Duration::from_secs(5))
    };
    let matchmaker = matchmaker_consul::connect(secure.clone())
        .await
        .expect("connects over HTTPS with the client certificate");
    matchmaker.register("secure", "node-a").await.unwrap();
    assert_eq!(fanout_hosts(&matchmaker, "secure").await, ["node-a"]);
    assert!(matchmaker.is_alive("secure", "node-a").await.unwrap());
    matchmaker.send_heartbeats().await.unwrap();

    let without_client_certificate = ConsulConfig {
        tls: Some(TlsConfig {
            ca: Some(pki.ca.clone()),
            ..TlsConfig::default()
        }),
        ..secure.clone()
    };
    let refused = matchmaker_consul::connect(without_client_certificate).await;
    assert!(
        refused.is_err(),
        "an agent requiring client certificates accepted none"
    );

    let unknown_ca = ConsulConfig {
        tls: Some(TlsConfig::default()),
        ..secure
    };
    assert!(
        matchmaker_consul::connect(unknown_ca).await.is_err(),
        "a certificate from an unknown CA was trusted"
    );
}
