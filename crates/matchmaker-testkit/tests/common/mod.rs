//! Helpers shared by the testkit's integration tests.

use std::time::Duration;

/// Sends one HTTP/1.0 request and returns (status code, body); panics when it cannot be sent or
/// no HTTP answer comes back within 10 s.
pub fn http(
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let timeout = Duration::from_secs(10);
    let response = matchmaker_testkit::http::request(timeout, method, addr, path, headers, body)
        .unwrap_or_else(|error| panic!("{method} {path} on {addr}: {error}"));
    (response.status, response.body)
}

/// True while a process with this id exists and is not a zombie.
pub fn pid_is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "))
}
