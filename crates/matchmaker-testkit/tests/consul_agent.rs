//! The throwaway Consul dev agent: found, started with a leader, ACLs, kill + restart, cleanup.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;

use common::{http, pid_is_alive};
use matchmaker_testkit::consul::{self, ConsulAgent, ConsulOptions};
use matchmaker_testkit::required;

/// The consul binary, or None (skip) when it cannot be found and the tests are not required.
fn consul_binary_or_skip(test: &str) -> Option<PathBuf> {
    match consul::binary() {
        Ok(path) => Some(path),
        Err(error) if required() => panic!("{test}: {error} (MATCHMAKER_TEST_REQUIRED=1)"),
        Err(error) => {
            eprintln!("skipping {test}: {error}");
            None
        }
    }
}

const SERVICE: &str = r#"{"Name":"testkit-probe","ID":"testkit-probe-1"}"#;

/// The `X-Consul-Token` header for `token`, or no header.
fn token_header(token: Option<&str>) -> Vec<(&str, &str)> {
    token.map(|t| ("X-Consul-Token", t)).into_iter().collect()
}

fn service_ids(addr: &str, token: Option<&str>) -> String {
    let (status, body) = http("GET", addr, "/v1/agent/services", &token_header(token), "");
    assert_eq!(status, 200, "listing services: {body}");
    body
}

/// Registers the probe [`SERVICE`] with the agent at `addr`: (status code, body).
fn register_probe(addr: &str, token: Option<&str>) -> (u16, String) {
    http(
        "PUT",
        addr,
        "/v1/agent/service/register",
        &token_header(token),
        SERVICE,
    )
}

#[test]
fn consul_binary_reports_a_version() {
    let Some(binary) = consul_binary_or_skip("consul_binary_reports_a_version") else {
        return;
    };
    let version = consul::version(&binary).expect("consul version is readable");
    assert!(
        version.starts_with("1."),
        "unexpected consul version {version}"
    );
}

#[test]
fn started_agent_has_a_leader_and_accepts_services() {
    let Some(binary) = consul_binary_or_skip("started_agent_has_a_leader_and_accepts_services")
    else {
        return;
    };
    let agent = ConsulAgent::start_with_binary(&binary, ConsulOptions::default()).expect("starts");
    assert_eq!(agent.http_url(), format!("http://{}", agent.addr()));
    let (status, leader) = http("GET", &agent.addr(), "/v1/status/leader", &[], "");
    assert_eq!(status, 200);
    assert!(leader.contains("127.0.0.1:"), "leader is {leader}");
    let (status, body) = register_probe(&agent.addr(), None);
    assert_eq!(status, 200, "register: {body}");
    assert!(service_ids(&agent.addr(), None).contains("testkit-probe-1"));
}

#[test]
fn killed_agent_restarts_on_the_same_port_without_its_services() {
    let test = "killed_agent_restarts_on_the_same_port_without_its_services";
    let Some(binary) = consul_binary_or_skip(test) else {
        return;
    };
    let mut agent =
        ConsulAgent::start_with_binary(&binary, ConsulOptions::default()).expect("starts");
    let addr = agent.addr();
    let (status, _) = register_probe(&addr, None);
    assert_eq!(status, 200);
    let first_pid = agent.pid().unwrap();

    agent.kill();
    assert!(!pid_is_alive(first_pid));
    assert!(
        TcpStream::connect(&addr).is_err(),
        "killed agent no longer listens"
    );

    agent.restart().expect("agent restarts");
    assert_eq!(agent.addr(), addr, "restart keeps the port");
    assert!(
        !service_ids(&addr, None).contains("testkit-probe-1"),
        "dev agent forgot"
    );
}

#[test]
fn acl_agent_denies_without_a_token_and_accepts_the_management_token() {
    let test = "acl_agent_denies_without_a_token_and_accepts_the_management_token";
    let Some(binary) = consul_binary_or_skip(test) else {
        return;
    };
    let options = ConsulOptions {
        acl: true,
        ..ConsulOptions::default()
    };
    let agent = ConsulAgent::start_with_binary(&binary, options).expect("starts");
    let token = agent
        .management_token()
        .expect("acl agent has a management token");
    let (status, body) = register_probe(&agent.addr(), None);
    assert_eq!(status, 403, "no token must be denied: {body}");
    let (status, body) = register_probe(&agent.addr(), Some(token));
    assert_eq!(status, 200, "management token must be accepted: {body}");
}

#[test]
fn acl_agent_left_for_the_test_to_bootstrap_hands_out_one_working_token() {
    let test = "acl_agent_left_for_the_test_to_bootstrap_hands_out_one_working_token";
    let Some(binary) = consul_binary_or_skip(test) else {
        return;
    };
    let options = ConsulOptions {
        acl: true,
        acl_bootstrap_by_test: true,
        ..ConsulOptions::default()
    };
    let agent = ConsulAgent::start_with_binary(&binary, options).expect("starts");
    assert_eq!(agent.management_token(), None);
    let token = agent.bootstrap_acl().expect("first bootstrap works");
    let (status, body) = register_probe(&agent.addr(), Some(&token));
    assert_eq!(status, 200, "bootstrapped token must be accepted: {body}");
    assert!(
        agent.bootstrap_acl().is_err(),
        "a second bootstrap is refused"
    );
}

#[test]
fn dropped_agent_leaves_no_process() {
    let Some(binary) = consul_binary_or_skip("dropped_agent_leaves_no_process") else {
        return;
    };
    let agent = ConsulAgent::start_with_binary(&binary, ConsulOptions::default()).expect("starts");
    let pid = agent.pid().unwrap();
    let log = agent.log_path().to_path_buf();
    drop(agent);
    assert!(!pid_is_alive(pid), "consul was killed on drop");
    assert!(!log.exists(), "temp dir was removed on drop");
}
