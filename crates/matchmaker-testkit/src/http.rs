//! A minimal blocking HTTP/1.0 client for loopback servers (no TLS): the readiness checks use
//! it, and tests use it to talk to a server's HTTP API directly.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Time allowed to connect, send and read in [`get`] and the readiness checks.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A parsed response: status code and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
}

/// Sends `GET path` to `addr` ("127.0.0.1:port") with the given extra headers.
pub fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    request(DEFAULT_TIMEOUT, "GET", addr, path, headers, "")
}

/// Sends `method path` with `body` to `addr` ("127.0.0.1:port") with the given extra headers,
/// allowing `timeout` for each of connecting, sending and reading.
pub fn request(
    timeout: Duration,
    method: &str,
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, String> {
    let socket: SocketAddr = addr
        .parse()
        .map_err(|err| format!("bad address {addr}: {err}"))?;
    let mut stream = TcpStream::connect_timeout(&socket, timeout)
        .map_err(|err| format!("connect to {addr}: {err}"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|err| format!("send to {addr}: {err}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|err| format!("read from {addr}: {err}"))?;
    parse(&String::from_utf8_lossy(&raw))
}

fn parse(raw: &str) -> Result<Response, String> {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {:?}", head.lines().next()))?;
    Ok(Response {
        status,
        body: body.to_string(),
    })
}

/// True when a TCP connection to `addr` succeeds.
pub(crate) fn port_open(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|socket| TcpStream::connect_timeout(&socket, Duration::from_secs(1)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_status_and_body() {
        let response =
            parse("HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\n{\"health\":\"true\"}").unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "{\"health\":\"true\"}");
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(parse("hello").is_err());
    }

    #[test]
    fn get_reports_a_closed_port_as_an_error() {
        let port = crate::free_port();
        assert!(get(&format!("127.0.0.1:{port}"), "/", &[]).is_err());
        assert!(!port_open(&format!("127.0.0.1:{port}")));
    }
}
