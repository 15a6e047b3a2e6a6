//! The throwaway etcd: starts healthy, survives kill + restart with its data, cleans up on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use matchmaker_testkit::etcd::{self, EtcdOptions, EtcdServer};
use matchmaker_testkit::required;

/// The etcd binary, or None (skip) when it is missing and the tests are not required.
fn etcd_binary_or_skip(test: &str) -> Option<PathBuf> {
    match etcd::binary() {
        Some(path) => Some(path),
        None if required() => {
            panic!("{test}: etcd binary not found but MATCHMAKER_TEST_REQUIRED=1")
        }
        None => {
            eprintln!("skipping {test}: no etcd binary");
            None
        }
    }
}

/// Writes a key through etcd's v3 JSON gateway (base64 "a2V5" = "key", "dmFsdWU=" = "value").
fn http_post(endpoint: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(endpoint).expect("connect to etcd");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.0\r\nHost: {endpoint}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

fn put_key(endpoint: &str) {
    let response = http_post(
        endpoint,
        "/v3/kv/put",
        r#"{"key":"a2V5","value":"dmFsdWU="}"#,
    );
    assert!(
        response.starts_with("HTTP/1.0 200"),
        "put failed: {response}"
    );
}

fn key_value(endpoint: &str) -> Option<String> {
    let response = http_post(endpoint, "/v3/kv/range", r#"{"key":"a2V5"}"#);
    assert!(
        response.starts_with("HTTP/1.0 200"),
        "range failed: {response}"
    );
    response
        .split("\"value\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(String::from)
}

fn pid_is_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
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
