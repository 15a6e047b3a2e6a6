//! Thin typed calls to Consul's HTTP API (agent services and checks, health, catalog).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use matchmaker_core::{Error, Result};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use crate::config::{ConsulConfig, Scheme};
use crate::wire::{AgentSelf, ServiceEntry, ServiceRegistration};

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

/// The Consul HTTP client of one backend.
#[derive(Clone)]
pub(crate) struct ConsulClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    request_timeout: Duration,
    connected: Arc<AtomicBool>,
}

impl ConsulClient {
    pub fn new(config: &ConsulConfig) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(config.request_timeout)
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
        let response = self
            .send(self.request(Method::GET, "/v1/agent/self"), "agent self")
            .await?;
        let body: AgentSelf = json(response, "agent self").await?;
        Ok(body.config.node_name)
    }

    pub async fn register_service(&self, registration: &ServiceRegistration) -> Result<()> {
        let request = self
            .request(Method::PUT, "/v1/agent/service/register")
            .json(registration);
        self.send(request, "register service").await.map(drop)
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
        let response = self.send(request, "list agent services").await?;
        let services: HashMap<String, serde_json::Value> =
            json(response, "list agent services").await?;
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
        let response = self.send(request, "health service").await?;
        let index = consul_index(&response);
        Ok((json(response, "health service").await?, index))
    }

    /// `GET /v1/catalog/services`: service names and their tags, optionally blocking.
    pub async fn catalog_services(
        &self,
        blocking: Option<(u64, Duration)>,
    ) -> Result<(HashMap<String, Vec<String>>, u64)> {
        let request = self.blocking(self.request(Method::GET, "/v1/catalog/services"), blocking);
        let response = self.send(request, "catalog services").await?;
        let index = consul_index(&response);
        Ok((json(response, "catalog services").await?, index))
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

    async fn send(&self, request: RequestBuilder, what: &str) -> Result<Response> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                self.connected.store(false, Ordering::Relaxed);
                return Err(Error::unavailable(BACKEND, error));
            }
        };
        self.connected.store(true, Ordering::Relaxed);
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(classify(status, body, what))
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

fn consul_index(response: &Response) -> u64 {
    response
        .headers()
        .get("X-Consul-Index")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

async fn json<T: DeserializeOwned>(response: Response, what: &str) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|error| Error::unavailable(BACKEND, error))?;
    serde_json::from_slice(&bytes)
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
        let error = ConsulClient::new(&config)
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
        let outcome = ConsulClient::new(&config);
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
