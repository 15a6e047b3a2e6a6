//! Thin typed calls to Consul's HTTP API (agent services and checks, health, catalog).
//!
//! Each [`ConsulClient`] is one [`Lane`]: its own connection pool and a bound on requests in
//! flight, so it never holds more connections to the agent than that bound, and the lanes of
//! one backend (watch, lookups, writes) never wait behind one another.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use matchmaker_core::{Error, Result};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::config::{ConsulConfig, Scheme};
use crate::errors;
use crate::wire::{AgentSelf, HealthCheck, ServiceEntry, ServiceRegistration};

pub(crate) const BACKEND: &str = "consul";

/// What a check pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PassOutcome {
    /// The check exists and is now passing.
    Passed,
    /// The agent does not know the check (it restarted or the service was removed).
    CheckMissing,
}

/// A non-success HTTP answer from Consul.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub status: StatusCode,
    pub body: String,
    pub what: String,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: HTTP {}: {}",
            self.what,
            self.status,
            self.body.trim()
        )
    }
}

impl std::error::Error for HttpError {}

/// `host:port` of the agent, then the innermost cause: the one that says what happened
/// (reqwest's own text only names the URL, shown here as the address).
fn one_line(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut innermost = None;
    let mut next = error.source();
    while let Some(cause) = next {
        innermost = Some(cause);
        next = cause.source();
    }
    let cause = match innermost {
        Some(cause) => match cause.downcast_ref::<std::io::Error>() {
            Some(io) => matchmaker_core::io_error_text(io),
            None => cause.to_string(),
        },
        None if error.is_timeout() => "timed out".to_owned(),
        None => "the request failed".to_owned(),
    };
    let address = error.url().and_then(|url| {
        let host = url.host_str()?;
        Some(match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
    });
    match address {
        Some(address) => format!("{address}: {cause}"),
        None => cause,
    }
}

/// What one client of a backend is for, and how many requests it may have in flight (so how
/// many connections to the agent it may hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lane {
    pub name: &'static str,
    pub max_in_flight: usize,
}

impl Lane {
    /// The one namespace-wide blocking query.
    pub const WATCH: Lane = Lane {
        name: "watch",
        max_in_flight: 1,
    };
    /// Direct reads: a lookup's fallback query, `is_alive`, a hashed topic's first answer.
    pub const LOOKUPS: Lane = Lane {
        name: "lookups",
        max_in_flight: 2,
    };
    /// Registrations, heartbeats and the registrar's own reads: never behind a watch.
    pub const WRITES: Lane = Lane {
        name: "writes",
        max_in_flight: 4,
    };
}

/// The most connections one backend holds to its agent: the sum of its lanes' bounds.
pub const MAX_AGENT_CONNECTIONS: usize =
    Lane::WATCH.max_in_flight + Lane::LOOKUPS.max_in_flight + Lane::WRITES.max_in_flight;

/// A whole answer: its `X-Consul-Index` and body, read while the lane's permit was held.
struct Answer {
    index: u64,
    body: bytes::Bytes,
}

/// One lane's Consul HTTP client.
#[derive(Clone)]
pub(crate) struct ConsulClient {
    http: reqwest::Client,
    lane: Lane,
    in_flight: Arc<Semaphore>,
    base: String,
    token: Option<String>,
    request_timeout: Duration,
    connected: Arc<AtomicBool>,
}

impl ConsulClient {
    pub fn new(config: &ConsulConfig, lane: Lane) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.request_timeout)
            .pool_max_idle_per_host(lane.max_in_flight)
            .pool_idle_timeout(Duration::from_secs(30));
        if config.scheme == Scheme::Https {
            if let Some(tls) = &config.tls {
                if let Some(ca) = &tls.ca {
                    let pem = read_pem(ca)?;
                    let certificate = reqwest::Certificate::from_pem(&pem)
                        .map_err(|error| file_error(ca, &error.to_string()))?;
                    builder = builder.add_root_certificate(certificate);
                }
                if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
                    let mut pem = read_pem(cert)?;
                    pem.push(b'\n');
                    pem.extend(read_pem(key)?);
                    let identity = reqwest::Identity::from_pem(&pem)
                        .map_err(|error| file_error(cert, &error.to_string()))?;
                    builder = builder.identity(identity);
                }
            }
        }
        let http = builder
            .build()
            .map_err(|error| Error::InvalidConfig(format!("consul HTTP client: {error}")))?;
        Ok(ConsulClient {
            http,
            lane,
            in_flight: Arc::new(Semaphore::new(lane.max_in_flight)),
            base: config.base_url(),
            token: config.effective_token(),
            request_timeout: config.request_timeout,
            connected: Arc::new(AtomicBool::new(false)),
        })
    }

    /// True when the last request reached the agent.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The agent's node name (`GET /v1/agent/self`); also proves the agent and token work.
    pub async fn node_name(&self) -> Result<String> {
        let answer = self
            .send(self.request(Method::GET, "/v1/agent/self"), "agent self")
            .await?;
        let body: AgentSelf = json(&answer, "agent self")?;
        Ok(body.config.node_name)
    }

    pub async fn register_service(&self, registration: &ServiceRegistration) -> Result<()> {
        let request = self
            .request(Method::PUT, "/v1/agent/service/register")
            .json(registration);
        self.send(request, "register service").await.map(drop)
    }

    /// Registers the service and removes its checks that `registration` does not define.
    pub async fn replace_service(&self, registration: &ServiceRegistration) -> Result<()> {
        let request = self
            .request(
                Method::PUT,
                "/v1/agent/service/register?replace-existing-checks=true",
            )
            .json(registration);
        self.send(request, "replace service").await.map(drop)
    }

    pub async fn deregister_service(&self, service_id: &str) -> Result<()> {
        let path = format!("/v1/agent/service/deregister/{service_id}");
        match self
            .send(self.request(Method::PUT, &path), "deregister service")
            .await
        {
            Err(Error::Backend { source, .. }) if is_not_found(&source) => Ok(()),
            other => other.map(drop),
        }
    }

    /// True when the local agent has a service with this ID.
    pub async fn has_service(&self, service_id: &str) -> Result<bool> {
        let path = format!("/v1/agent/service/{service_id}");
        match self
            .send(self.request(Method::GET, &path), "read service")
            .await
        {
            Ok(_) => Ok(true),
            Err(Error::Backend { source, .. }) if is_not_found(&source) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// IDs of the local agent's services whose Meta `key` equals `value` (a hex id).
    pub async fn agent_service_ids(&self, key: &str, value: &str) -> Result<Vec<String>> {
        let filter = format!("Meta.{key} == \"{value}\"");
        let request = self
            .request(Method::GET, "/v1/agent/services")
            .query(&[("filter", filter)]);
        let answer = self.send(request, "list agent services").await?;
        let services: HashMap<String, serde_json::Value> = json(&answer, "list agent services")?;
        Ok(services.into_keys().collect())
    }

    pub async fn pass_check(&self, check_id: &str) -> Result<PassOutcome> {
        let path = format!("/v1/agent/check/pass/{check_id}");
        match self
            .send(self.request(Method::PUT, &path), "pass check")
            .await
        {
            Ok(_) => Ok(PassOutcome::Passed),
            Err(Error::Backend { source, .. }) if is_missing_check(&source) => {
                Ok(PassOutcome::CheckMissing)
            }
            Err(error) => Err(error),
        }
    }

    /// `PUT /v1/catalog/deregister`: removes a service another agent registered.
    pub async fn catalog_deregister(&self, node: &str, service_id: &str) -> Result<()> {
        let body = serde_json::json!({ "Node": node, "ServiceID": service_id });
        let request = self
            .request(Method::PUT, "/v1/catalog/deregister")
            .json(&body);
        self.send(request, "catalog deregister").await.map(drop)
    }

    /// `GET /v1/health/service/<name>`, optionally `?passing`, optionally blocking on `index`.
    pub async fn health_service(
        &self,
        name: &str,
        passing: bool,
        blocking: Option<(u64, Duration)>,
    ) -> Result<(Vec<ServiceEntry>, u64)> {
        let mut request = self.request(Method::GET, &format!("/v1/health/service/{name}"));
        if passing {
            request = request.query(&[("passing", "1")]);
        }
        request = self.blocking(request, blocking);
        let answer = self.send(request, "health service").await?;
        Ok((json(&answer, "health service")?, answer.index))
    }

    /// `GET /v1/health/state/any`: every check of the datacenter (node checks, and service
    /// checks tagged `tag` when the tag can be written in a filter), optionally blocking.
    pub async fn health_checks(
        &self,
        tag: &str,
        blocking: Option<(u64, Duration)>,
    ) -> Result<(Vec<HealthCheck>, u64)> {
        let mut request = self.request(Method::GET, "/v1/health/state/any");
        // bexpr (Consul 1.8) has no escapes in quoted strings, only backtick raw strings.
        if !tag.contains('`') {
            let filter = format!("ServiceTags contains `{tag}` or ServiceID == \"\"");
            request = request.query(&[("filter", filter)]);
        }
        request = self.blocking(request, blocking);
        let answer = self.send(request, "health checks").await?;
        Ok((json(&answer, "health checks")?, answer.index))
    }

    /// `GET /v1/catalog/services`: service names and their tags.
    pub async fn catalog_services(&self) -> Result<HashMap<String, Vec<String>>> {
        let request = self.request(Method::GET, "/v1/catalog/services");
        let answer = self.send(request, "catalog services").await?;
        json(&answer, "catalog services")
    }

    fn blocking(
        &self,
        request: RequestBuilder,
        blocking: Option<(u64, Duration)>,
    ) -> RequestBuilder {
        match blocking {
            Some((index, wait)) if index > 0 => {
                // Consul adds up to wait/16 of jitter: the client must wait longer than that.
                let timeout = wait + wait / 16 + self.request_timeout;
                request
                    .query(&[
                        ("index", index.to_string()),
                        ("wait", format!("{}ms", wait.as_millis())),
                    ])
                    .timeout(timeout)
            }
            _ => request,
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .timeout(self.request_timeout);
        if let Some(token) = &self.token {
            request = request.header("X-Consul-Token", token);
        }
        request
    }

    /// Sends `request` within the lane's bound and reads the whole answer. Every request this
    /// backend makes is idempotent, so one whose pooled connection the agent had closed is sent
    /// once more on a fresh connection.
    async fn send(&self, request: RequestBuilder, what: &str) -> Result<Answer> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| Error::unavailable(BACKEND, "the consul client was closed"))?;
        let retry = request.try_clone();
        let outcome = match (self.exchange(request).await, retry) {
            (Err(error), Some(retry)) if errors::is_closed_connection(&error) => {
                tracing::debug!(lane = self.lane.name, %error, "consul closed a pooled connection; retrying once");
                self.exchange(retry).await
            }
            (outcome, _) => outcome,
        };
        let (status, answer) = match outcome {
            Ok(answer) => answer,
            Err(error) => {
                self.connected.store(false, Ordering::Relaxed);
                errors::warn_if_refused_by_agent(&error, self.lane.name);
                // The one-line cause; reqwest's error stays reachable as its source.
                let cause = matchmaker_core::Cause::new(one_line(&error), error);
                return Err(Error::unavailable(BACKEND, cause));
            }
        };
        self.connected.store(true, Ordering::Relaxed);
        if status.is_success() {
            return Ok(answer);
        }
        let body = String::from_utf8_lossy(&answer.body).into_owned();
        Err(classify(status, body, what))
    }

    /// One request and its whole body.
    async fn exchange(
        &self,
        request: RequestBuilder,
    ) -> std::result::Result<(StatusCode, Answer), reqwest::Error> {
        let response = request.send().await?;
        let status = response.status();
        let index = response
            .headers()
            .get("X-Consul-Index")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let body = response.bytes().await?;
        Ok((status, Answer { index, body }))
    }
}

fn classify(status: StatusCode, body: String, what: &str) -> Error {
    let lower = body.to_ascii_lowercase();
    if status == StatusCode::FORBIDDEN
        || status == StatusCode::UNAUTHORIZED
        || lower.contains("acl not found")
        || lower.contains("permission denied")
    {
        return Error::Unauthorized {
            backend: BACKEND,
            message: format!(
                "{what}: Consul answered HTTP {status}: {}; set an ACL token with \
                 `?token=` in the consul:// URL, `token` in the config, or the \
                 CONSUL_HTTP_TOKEN environment variable",
                body.trim()
            ),
        };
    }
    Error::backend(
        BACKEND,
        HttpError {
            status,
            body,
            what: what.to_owned(),
        },
    )
}

fn is_not_found(source: &matchmaker_core::BoxError) -> bool {
    source.downcast_ref::<HttpError>().is_some_and(|error| {
        error.status == StatusCode::NOT_FOUND || error.body.contains("Unknown service")
    })
}

/// Consul 1.8 answers 500 "CheckID ... does not have associated TTL"; later ones 404.
fn is_missing_check(source: &matchmaker_core::BoxError) -> bool {
    source.downcast_ref::<HttpError>().is_some_and(|error| {
        error.status == StatusCode::NOT_FOUND
            || error.body.contains("does not have associated TTL")
            || error.body.contains("Unknown check")
    })
}

fn json<T: DeserializeOwned>(answer: &Answer, what: &str) -> Result<T> {
    serde_json::from_slice(&answer.body)
        .map_err(|error| Error::backend(BACKEND, format!("{what}: unreadable answer: {error}")))
}

fn read_pem(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| file_error(path, &error.to_string()))
}

fn file_error(path: &std::path::Path, message: &str) -> Error {
    Error::File {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-port HTTP server that closes each of its first `drops` connections after reading
    /// a request, then answers `[]` with `X-Consul-Index: 7`; returns its address.
    async fn flaky_agent(drops: usize) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted += 1;
                let mut buffer = [0_u8; 4096];
                let _ = socket.read(&mut buffer).await;
                if accepted <= drops {
                    drop(socket);
                    continue;
                }
                let answer = "HTTP/1.1 200 OK\r\nX-Consul-Index: 7\r\nContent-Length: 2\r\n\r\n[]";
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        address
    }

    fn config_for(address: String) -> ConsulConfig {
        ConsulConfig {
            address,
            ..ConsulConfig::default()
        }
    }

    #[tokio::test]
    async fn a_connection_the_agent_closes_is_retried_once_on_a_fresh_one() {
        let client = ConsulClient::new(&config_for(flaky_agent(1).await), Lane::LOOKUPS).unwrap();
        let (entries, index) = client
            .health_service("svc", true, None)
            .await
            .expect("the second connection answers");
        assert!(entries.is_empty());
        assert_eq!(index, 7);
    }

    #[tokio::test]
    async fn an_agent_that_keeps_closing_connections_is_unavailable_not_retried_forever() {
        let client = ConsulClient::new(&config_for(flaky_agent(2).await), Lane::LOOKUPS).unwrap();
        let error = client.health_service("svc", true, None).await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(!client.is_connected());
    }

    #[tokio::test]
    async fn a_lane_never_has_more_requests_in_flight_than_its_bound() {
        let client = ConsulClient::new(&config_for(flaky_agent(0).await), Lane::LOOKUPS).unwrap();
        let calls = (0..16).map(|_| client.health_service("svc", true, None));
        let answers = futures_util::future::join_all(calls).await;
        assert!(answers.iter().all(Result::is_ok));
        assert_eq!(
            client.in_flight.available_permits(),
            Lane::LOOKUPS.max_in_flight
        );
    }

    #[tokio::test]
    async fn an_agent_that_refuses_connections_is_one_line_naming_the_address() {
        // Nothing listens on port 1.
        let client =
            ConsulClient::new(&config_for("127.0.0.1:1".to_owned()), Lane::LOOKUPS).unwrap();
        let error = client.node_name().await.unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert_eq!(
            error.to_string(),
            "consul is unavailable: 127.0.0.1:1: connection refused"
        );
        let source = std::error::Error::source(&error).expect("the cause is kept");
        assert!(source.source().is_some(), "reqwest's error stays reachable");
    }

    #[test]
    fn the_per_backend_connection_bound_is_the_sum_of_its_lanes() {
        assert_eq!(MAX_AGENT_CONNECTIONS, 7);
    }

    #[test]
    fn missing_tls_files_are_file_errors() {
        let config = ConsulConfig {
            scheme: Scheme::Https,
            tls: Some(crate::TlsConfig {
                ca: Some("/nonexistent/matchmaker-ca.pem".into()),
                ..crate::TlsConfig::default()
            }),
            ..ConsulConfig::default()
        };
        let error = ConsulClient::new(&config, Lane::WRITES)
            .err()
            .expect("a missing CA is an error");
        assert!(matches!(error, Error::File { .. }), "{error}");
    }

    #[test]
    fn unreadable_ca_pem_is_an_error() {
        let path = std::env::temp_dir().join(format!("mm-bad-ca-{}.pem", fastrand::u64(..)));
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let config = ConsulConfig {
            scheme: Scheme::Https,
            tls: Some(crate::TlsConfig {
                ca: Some(path.clone()),
                ..crate::TlsConfig::default()
            }),
            ..ConsulConfig::default()
        };
        let outcome = ConsulClient::new(&config, Lane::WRITES);
        std::fs::remove_file(&path).ok();
        assert!(
            outcome.is_err(),
            "a garbage CA must not be accepted silently"
        );
    }

    #[test]
    fn forbidden_answers_become_unauthorized_with_a_hint() {
        let error = classify(
            StatusCode::FORBIDDEN,
            "Permission denied".into(),
            "register",
        );
        let Error::Unauthorized { message, .. } = error else {
            panic!("expected Unauthorized");
        };
        assert!(message.contains("CONSUL_HTTP_TOKEN") && message.contains("?token="));
        let acl = classify(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ACL not found".into(),
            "x",
        );
        assert!(matches!(acl, Error::Unauthorized { .. }));
    }

    #[test]
    fn other_answers_become_backend_errors_with_status_and_body() {
        let error = classify(StatusCode::BAD_REQUEST, "Invalid check".into(), "register");
        assert!(matches!(error, Error::Backend { .. }));
        let text = error.to_string();
        assert!(
            text.contains("400") && text.contains("Invalid check"),
            "{text}"
        );
    }

    #[test]
    fn missing_check_answers_of_old_and_new_consul_are_recognised() {
        let old: matchmaker_core::BoxError = Box::new(HttpError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: "CheckID \"x\" does not have associated TTL".into(),
            what: "pass".into(),
        });
        assert!(is_missing_check(&old));
        let other: matchmaker_core::BoxError = Box::new(HttpError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: "boom".into(),
            what: "pass".into(),
        });
        assert!(!is_missing_check(&other));
    }
}
