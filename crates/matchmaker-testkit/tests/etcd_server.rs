//! The throwaway etcd: starts healthy, survives kill + restart with its data, cleans up on drop.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;

use common::pid_is_alive;

use matchmaker_testkit::etcd::{self, EtcdOptions, EtcdServer, TlsFiles};
use matchmaker_testkit::required;

/// The etcd binary, or None (skip) when it is missing and the tests are not required.
fn etcd_binary_or_skip(test: &str) -> Option<PathBuf> {
    match etcd::binary() {
        Ok(path) => Some(path),
        Err(error) if required() => panic!("{test}: {error} (MATCHMAKER_TEST_REQUIRED=1)"),
        Err(error) => {
            eprintln!("skipping {test}: {error}");
            None
        }
    }
}

/// Sends a JSON request to etcd's v3 gateway (base64 "a2V5" = "key", "dmFsdWU=" = "value").
fn http_post(endpoint: &str, path: &str, body: &str) -> (u16, String) {
    common::http(
        "POST",
        endpoint,
        path,
        &[("Content-Type", "application/json")],
        body,
    )
}

fn put_key(endpoint: &str) {
    let put = r#"{"key":"a2V5","value":"dmFsdWU="}"#;
    let (status, body) = http_post(endpoint, "/v3/kv/put", put);
    assert_eq!(status, 200, "put failed: {body}");
}

fn key_value(endpoint: &str) -> Option<String> {
    let (status, body) = http_post(endpoint, "/v3/kv/range", r#"{"key":"a2V5"}"#);
    assert_eq!(status, 200, "range failed: {body}");
    body.split("\"value\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(String::from)
}

#[test]
fn started_etcd_answers_on_its_endpoint() {
    let Some(_) = etcd_binary_or_skip("started_etcd_answers_on_its_endpoint") else {
        return;
    };
    let server = EtcdServer::start(EtcdOptions::default()).expect("etcd starts");
    assert!(server.endpoint().starts_with("127.0.0.1:"));
    assert_eq!(server.endpoints(), vec![server.endpoint()]);
    assert_eq!(server.client_url(), format!("http://{}", server.endpoint()));
    put_key(&server.endpoint());
    assert_eq!(key_value(&server.endpoint()).as_deref(), Some("dmFsdWU="));
}

#[test]
fn etcd_version_is_read_from_the_binary() {
    let Some(binary) = etcd_binary_or_skip("etcd_version_is_read_from_the_binary") else {
        return;
    };
    let version = etcd::version(&binary).expect("etcd --version is readable");
    assert!(
        version.starts_with("3."),
        "unexpected etcd version {version}"
    );
}

#[test]
fn killed_etcd_restarts_with_its_data_on_the_same_port() {
    let Some(_) = etcd_binary_or_skip("killed_etcd_restarts_with_its_data_on_the_same_port") else {
        return;
    };
    let mut server = EtcdServer::start(EtcdOptions::default()).expect("etcd starts");
    let endpoint = server.endpoint();
    put_key(&endpoint);
    let first_pid = server.pid().expect("running etcd has a pid");

    server.kill();
    assert_eq!(server.pid(), None);
    assert!(!pid_is_alive(first_pid), "SIGKILLed etcd is gone");
    assert!(
        TcpStream::connect(&endpoint).is_err(),
        "killed etcd no longer listens"
    );

    server.restart().expect("etcd restarts");
    assert_eq!(server.endpoint(), endpoint, "restart keeps the port");
    assert_ne!(server.pid(), Some(first_pid));
    assert_eq!(
        key_value(&endpoint).as_deref(),
        Some("dmFsdWU="),
        "data survived"
    );
}

#[test]
fn stopped_etcd_restarts() {
    let Some(_) = etcd_binary_or_skip("stopped_etcd_restarts") else {
        return;
    };
    let mut server = EtcdServer::start(EtcdOptions::default()).expect("etcd starts");
    server.stop();
    assert!(TcpStream::connect(server.endpoint()).is_err());
    server.restart().expect("etcd restarts after a clean stop");
    put_key(&server.endpoint());
}

#[test]
fn dropped_etcd_leaves_no_process_and_no_data_dir() {
    let Some(_) = etcd_binary_or_skip("dropped_etcd_leaves_no_process_and_no_data_dir") else {
        return;
    };
    let server = EtcdServer::start(EtcdOptions::default()).expect("etcd starts");
    let pid = server.pid().unwrap();
    let data_dir = server.data_dir();
    assert!(data_dir.exists());
    drop(server);
    assert!(!pid_is_alive(pid), "etcd process was killed on drop");
    assert!(!data_dir.exists(), "temp dir was removed on drop");
}

#[test]
fn client_cert_auth_without_tls_is_refused() {
    let options = EtcdOptions {
        tls: None,
        client_cert_auth: true,
    };
    let error = EtcdServer::start(options).expect_err("client certs need TLS");
    assert!(
        matches!(error, matchmaker_testkit::TestkitError::InvalidOptions(_)),
        "{error}"
    );
}

/// Writes a CA and a server certificate for 127.0.0.1 with the `openssl` command into `dir`.
fn write_test_certificates(dir: &std::path::Path) -> Option<TlsFiles> {
    let openssl = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map(|output| assert!(output.status.success(), "openssl {args:?}: {output:?}"))
    };
    if openssl(&["version"]).is_err() {
        return None;
    }
    let subject_ca = ["-subj", "/CN=testkit-ca"];
    openssl(
        &[
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ][..],
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &subject_ca,
        ]
        .concat(),
    )
    .ok()?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ])
    .ok()?;
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").ok()?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        "server.pem",
        "-extfile",
        "san.ext",
    ])
    .ok()?;
    Some(TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    })
}

#[test]
fn tls_etcd_with_client_cert_auth_becomes_ready_and_refuses_plain_http() {
    let test = "tls_etcd_with_client_cert_auth_becomes_ready_and_refuses_plain_http";
    let Some(_) = etcd_binary_or_skip(test) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    let Some(tls) = write_test_certificates(certs.path()) else {
        eprintln!("skipping {test}: no openssl command to make test certificates");
        return;
    };
    let options = EtcdOptions {
        tls: Some(tls),
        client_cert_auth: true,
    };
    let server = EtcdServer::start(options).expect("TLS etcd starts");
    assert_eq!(
        server.client_url(),
        format!("https://{}", server.endpoint())
    );
    TcpStream::connect(server.endpoint()).expect("TLS etcd listens");
    let plain =
        std::panic::catch_unwind(|| common::http("GET", &server.endpoint(), "/health", &[], ""));
    assert!(
        !matches!(plain, Ok((200, _))),
        "a TLS-only etcd must not answer plain HTTP with 200"
    );
}
