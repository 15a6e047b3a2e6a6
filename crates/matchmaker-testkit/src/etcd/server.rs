//! Starting, stopping and restarting one etcd process.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::process::{Launch, ServerProcess, STOP_GRACE};
use crate::readiness::{retry_on_port_clash, wait_until_ready, READY_TIMEOUT};
use crate::{free_port, http, TestkitError};

/// Log line etcd prints once it serves clients (used for TLS servers, where we cannot GET /health).
const READY_LINE: &str = "ready to serve client requests";

/// PEM files for a server (etcd or Consul) that serves clients over TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// CA certificate that signed the client certificates (`--trusted-ca-file`).
    pub ca: PathBuf,
    /// Server certificate (`--cert-file`); must be valid for 127.0.0.1.
    pub cert: PathBuf,
    /// Server private key (`--key-file`).
    pub key: PathBuf,
}

/// How to start an etcd server. `EtcdOptions::default()` is plain HTTP without authentication.
#[derive(Debug, Clone, Default)]
pub struct EtcdOptions {
    /// Serve clients over https with these files.
    pub tls: Option<TlsFiles>,
    /// Require client certificates signed by the CA (`--client-cert-auth`); needs `tls`.
    pub client_cert_auth: bool,
}

/// A running single-member etcd on loopback. Dropping it kills etcd and removes its data.
#[derive(Debug)]
pub struct EtcdServer {
    // Field order matters: the process dies before its directory is removed.
    process: ServerProcess,
    client_port: u16,
    tls: bool,
    version: Option<String>,
    dir: TempDir,
}

impl EtcdServer {
    /// Starts etcd (found by [`super::binary`]) on free ports and waits until it serves clients.
    pub fn start(options: EtcdOptions) -> Result<EtcdServer, TestkitError> {
        let binary = super::binary()?;
        Self::start_with_binary(&binary, options)
    }

    /// Starts the given etcd binary on free ports and waits until it serves clients.
    pub fn start_with_binary(
        binary: &Path,
        options: EtcdOptions,
    ) -> Result<EtcdServer, TestkitError> {
        if options.client_cert_auth && options.tls.is_none() {
            return Err(TestkitError::InvalidOptions(
                "client_cert_auth needs tls files".to_string(),
            ));
        }
        let version = super::version(binary);
        retry_on_port_clash(|| {
            let dir = tempfile::Builder::new()
                .prefix("matchmaker-etcd-")
                .tempdir()
                .map_err(|err| TestkitError::io("creating etcd temp dir", err))?;
            let client_port = free_port();
            let launch = launch(binary, &options, dir.path(), client_port, free_port());
            let mut server = EtcdServer {
                process: ServerProcess::spawn(launch)?,
                client_port,
                tls: options.tls.is_some(),
                version: version.clone(),
                dir,
            };
            server.wait_ready()?;
            Ok(server)
        })
    }

    /// Client address `127.0.0.1:port` (no scheme), as etcd-client wants it.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    /// All client endpoints (one: this is a single-member cluster).
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.endpoint()]
    }

    /// Client URL with its scheme (`http://` or `https://`).
    pub fn client_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.endpoint())
    }

    /// Process id while etcd runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Version of the etcd binary (`3.4.23`), if it could be read.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The data directory, kept across [`restart`](Self::restart).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Path of etcd's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Kills etcd with SIGKILL (a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops etcd with SIGTERM (clean shutdown) and waits for it to exit.
    pub fn stop(&mut self) {
        self.process.terminate(STOP_GRACE);
    }

    /// Starts etcd again with the same data dir and ports (stopping it first if it still runs),
    /// and waits until it serves clients.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop();
        self.process.respawn()?;
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let endpoint = self.endpoint();
        let tls = self.tls;
        wait_until_ready(&mut self.process, READY_TIMEOUT, |process| {
            if tls {
                if !process.current_log().contains(READY_LINE) {
                    return Err(format!("log has no {READY_LINE:?} yet"));
                }
                if !http::port_open(&endpoint) {
                    return Err(format!("{endpoint} refuses connections"));
                }
                return Ok(());
            }
            super::check_health(&endpoint)
        })
    }
}

fn launch(
    binary: &Path,
    options: &EtcdOptions,
    dir: &Path,
    client_port: u16,
    peer_port: u16,
) -> Launch {
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let client_url = format!("{scheme}://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let mut args: Vec<OsString> = [
        "--name=testkit".to_string(),
        format!("--data-dir={}", dir.join("data").display()),
        "--heartbeat-interval=10".to_string(),
        "--election-timeout=100".to_string(),
        format!("--listen-client-urls={client_url}"),
        format!("--advertise-client-urls={client_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=testkit={peer_url}"),
        "--initial-cluster-state=new".to_string(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    if let Some(tls) = &options.tls {
        args.push(flag("--trusted-ca-file=", &tls.ca));
        args.push(flag("--cert-file=", &tls.cert));
        args.push(flag("--key-file=", &tls.key));
        if options.client_cert_auth {
            args.push("--client-cert-auth".into());
        }
    }
    Launch {
        server: "etcd",
        program: binary.to_path_buf(),
        args,
        envs: Vec::new(),
        log: dir.join("etcd.log"),
    }
}

fn flag(name: &str, path: &Path) -> OsString {
    let mut flag = OsString::from(name);
    flag.push(path.as_os_str());
    flag
}
