//! The JSON bodies of the Consul HTTP API calls this backend makes (only the fields it uses).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// `PUT /v1/agent/service/register` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ServiceRegistration {
    #[serde(rename = "ID")]
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    pub address: String,
    pub meta: HashMap<String, String>,
    pub check: CheckDefinition,
}

/// The one check of a registered service: a TTL check or an alias of another service.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CheckDefinition {
    #[serde(rename = "CheckID")]
    pub check_id: String,
    pub name: String,
    #[serde(rename = "TTL", skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_service: Option<String>,
    /// Initial status (`passing`); Consul starts a new check critical without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub deregister_critical_service_after: String,
}

/// One entry of `GET /v1/health/service/<name>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ServiceEntry {
    pub node: NodeInfo,
    pub service: ServiceInfo,
    #[serde(default)]
    pub checks: Vec<CheckInfo>,
}

/// The node part of a [`ServiceEntry`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NodeInfo {
    pub node: String,
}

/// The service part of a [`ServiceEntry`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ServiceInfo {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default)]
    pub meta: Option<HashMap<String, String>>,
}

/// A check in a [`ServiceEntry`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CheckInfo {
    pub status: String,
}

/// One entry of `GET /v1/health/state/any`: a node check (empty `service_id`) or a service's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HealthCheck {
    pub node: String,
    pub status: String,
    #[serde(rename = "ServiceID", default)]
    pub service_id: String,
    #[serde(default)]
    pub service_name: String,
    #[serde(default)]
    pub service_tags: Option<Vec<String>>,
}

impl ServiceEntry {
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.service.meta.as_ref()?.get(key).map(String::as_str)
    }

    pub fn is_passing(&self) -> bool {
        self.checks.iter().all(|check| check.status == "passing")
    }
}

/// `GET /v1/agent/self`, the part we read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AgentSelf {
    pub config: AgentSelfConfig,
}

/// The agent's configuration, the part we read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AgentSelfConfig {
    pub node_name: String,
}
