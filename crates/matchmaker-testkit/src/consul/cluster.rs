//! A throwaway Consul cluster on loopback: one server agent and several client agents, for
//! agent failures seen from another agent.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::process::{Launch, ServerProcess};
use crate::readiness::{retry_on_port_clash, wait_until_ready, READY_TIMEOUT};
use crate::{free_port, http, TestkitError};

/// Shared by every agent. Gossip: probe every 200 ms, an unanswered probe (100 ms) makes the
/// node suspect, and a suspect is declared failed after `suspicion_mult` × 200 ms (memberlist's
/// floor for fewer than ten nodes), so a killed agent goes critical in about a second instead of
/// Consul's LAN default of several seconds. Raft: the dev-mode multiplier, so the lone server
/// elects itself in about a second instead of seven.
const CLUSTER_CONFIG: &str = "\
gossip_lan {
  probe_interval = \"200ms\"
  probe_timeout = \"100ms\"
  suspicion_mult = 2
}
performance {
  raft_multiplier = 1
}
";

/// Node name of the server agent.
const SERVER_NODE: &str = "server";

/// One agent: its process, node name and HTTP port.
#[derive(Debug)]
struct Agent {
    process: ServerProcess,
    node: String,
    http_port: u16,
}

impl Agent {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// Waits until the agent knows the cluster's leader (a client: until it has joined).
    fn wait_for_leader(&mut self) -> Result<(), TestkitError> {
        let addr = self.addr();
        wait_until_ready(&mut self.process, READY_TIMEOUT, |_| {
            super::check_leader(&addr)
        })
    }
}

/// A running Consul cluster on loopback: one server and `clients` client agents, each with its
/// own node name, ports and data directory. Dropping it kills every agent and removes the data.
#[derive(Debug)]
pub struct ConsulCluster {
    // Field order matters: the processes die before their directory is removed.
    server: Agent,
    clients: Vec<Agent>,
    _dir: TempDir,
}

impl ConsulCluster {
    /// Starts a server and `clients` client agents (consul found by [`super::binary`]) and waits
    /// until every agent knows the leader and the catalog lists every node.
    pub fn start(clients: usize) -> Result<ConsulCluster, TestkitError> {
        let binary = super::binary()?;
        retry_on_port_clash(|| {
            let dir = tempfile::Builder::new()
                .prefix("matchmaker-consul-cluster-")
                .tempdir()
                .map_err(|err| TestkitError::io("creating consul cluster temp dir", err))?;
            let config = dir.path().join("cluster.hcl");
            std::fs::write(&config, CLUSTER_CONFIG)
                .map_err(|err| TestkitError::io("writing the cluster config", err))?;
            let serf_lan_port = free_port();
            let server_args = vec![
                "-server".to_string(),
                "-bootstrap-expect=1".to_string(),
                format!("-serf-lan-port={serf_lan_port}"),
                format!("-serf-wan-port={}", free_port()),
            ];
            let mut server = spawn_agent(&binary, dir.path(), &config, SERVER_NODE, server_args)?;
            // Clients start once the server gossips and leads, so their first join succeeds.
            server.wait_for_leader()?;
            let join = format!("-retry-join=127.0.0.1:{serf_lan_port}");
            let mut client_agents = Vec::with_capacity(clients);
            for index in 0..clients {
                let args = vec![
                    join.clone(),
                    "-retry-interval=1s".to_string(),
                    format!("-serf-lan-port={}", free_port()),
                ];
                let node = format!("client-{index}");
                client_agents.push(spawn_agent(&binary, dir.path(), &config, &node, args)?);
            }
            let mut cluster = ConsulCluster {
                server,
                clients: client_agents,
                _dir: dir,
            };
            for client in &mut cluster.clients {
                client.wait_for_leader()?;
            }
            cluster.wait_for_catalog()?;
            Ok(cluster)
        })
    }

    /// HTTP API address `127.0.0.1:port` (no scheme) of the server agent.
    pub fn server_addr(&self) -> String {
        self.server.addr()
    }

    /// HTTP API address `127.0.0.1:port` (no scheme) of client agent `index`.
    pub fn client_addr(&self, index: usize) -> String {
        self.clients[index].addr()
    }

    /// Node name of client agent `index` (as the catalog lists it).
    pub fn client_node(&self, index: usize) -> &str {
        &self.clients[index].node
    }

    /// Node name of the server agent.
    pub fn server_node(&self) -> &str {
        &self.server.node
    }

    /// Number of client agents.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Kills client agent `index` with SIGKILL (a crash) and waits for it to exit.
    pub fn kill_client(&mut self, index: usize) {
        self.clients[index].process.kill();
    }

    /// Path of the server agent's log file.
    pub fn server_log_path(&self) -> &Path {
        self.server.process.log_path()
    }

    /// Path of client agent `index`'s log file.
    pub fn client_log_path(&self, index: usize) -> &Path {
        self.clients[index].process.log_path()
    }

    /// Waits until the server's catalog lists every agent's node.
    fn wait_for_catalog(&mut self) -> Result<(), TestkitError> {
        let addr = self.server.addr();
        let nodes: Vec<String> = std::iter::once(&self.server)
            .chain(&self.clients)
            .map(|agent| agent.node.clone())
            .collect();
        wait_until_ready(&mut self.server.process, READY_TIMEOUT, |_| {
            let catalog = http::get(&addr, "/v1/catalog/nodes", &[])?;
            let listed: String = catalog.body.split_whitespace().collect();
            let missing: Vec<&str> = nodes
                .iter()
                .map(String::as_str)
                .filter(|node| !listed.contains(&format!("\"Node\":\"{node}\"")))
                .collect();
            if catalog.status != 200 || !missing.is_empty() {
                return Err(format!(
                    "catalog ({}) lacks nodes {missing:?}",
                    catalog.status
                ));
            }
            Ok(())
        })
    }
}

/// Starts one agent named `node` with its own data dir, log and ports, plus `extra` arguments.
fn spawn_agent(
    binary: &Path,
    root: &Path,
    config: &Path,
    node: &str,
    extra: Vec<String>,
) -> Result<Agent, TestkitError> {
    let agent_dir: PathBuf = root.join(node);
    std::fs::create_dir_all(&agent_dir)
        .map_err(|err| TestkitError::io("creating an agent dir", err))?;
    let http_port = free_port();
    let mut args: Vec<OsString> = [
        "agent".to_string(),
        format!("-node={node}"),
        // Every agent runs on this host: node IDs derived from it would clash.
        "-disable-host-node-id=true".to_string(),
        format!("-data-dir={}", agent_dir.join("data").display()),
        "-bind=127.0.0.1".to_string(),
        "-client=127.0.0.1".to_string(),
        "-log-level=info".to_string(),
        format!("-http-port={http_port}"),
        format!("-server-port={}", free_port()),
        "-dns-port=-1".to_string(),
        "-grpc-port=-1".to_string(),
    ]
    .into_iter()
    .chain(extra)
    .map(OsString::from)
    .collect();
    let mut flag = OsString::from("-config-file=");
    flag.push(config.as_os_str());
    args.push(flag);
    let launch = Launch {
        server: "consul",
        program: binary.to_path_buf(),
        args,
        envs: vec![("CHECKPOINT_DISABLE".into(), "1".into())],
        log: agent_dir.join("consul.log"),
    };
    Ok(Agent {
        process: ServerProcess::spawn(launch)?,
        node: node.to_string(),
        http_port,
    })
}
