//! Starting, stopping and restarting one `consul agent -dev`.

use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;

use tempfile::TempDir;

use crate::process::{Launch, ServerProcess, STOP_GRACE};
use crate::readiness::{retry_on_port_clash, wait_until_ready, READY_TIMEOUT};
use crate::{free_port, http, TestkitError};

/// How to start a Consul dev agent. `ConsulOptions::default()` has ACLs off.
#[derive(Debug, Clone, Default)]
pub struct ConsulOptions {
    /// Enable ACLs with `default_policy = "deny"` and a known management (master) token, see
    /// [`ConsulAgent::management_token`].
    pub acl: bool,
    /// With `acl`, configure no master token so the test bootstraps the ACL system itself
    /// (`PUT /v1/acl/bootstrap`, or [`ConsulAgent::bootstrap_acl`]).
    pub acl_bootstrap_by_test: bool,
    /// Also serve the HTTP API over HTTPS with these files (see [`ConsulAgent::https_addr`]),
    /// requiring client certificates signed by their CA there; plain HTTP stays on.
    pub tls: Option<crate::TlsFiles>,
}

/// A running `consul agent -dev` on loopback. Dropping it kills the agent.
///
/// A dev agent keeps everything in memory: after [`kill`](Self::kill) + [`restart`](Self::restart)
/// every service registered through the API is gone, which is what restart tests want.
#[derive(Debug)]
pub struct ConsulAgent {
    // Field order matters: the process dies before its directory is removed.
    process: ServerProcess,
    http_port: u16,
    https_port: Option<u16>,
    management_token: Option<String>,
    version: Option<String>,
    _dir: TempDir,
}

impl ConsulAgent {
    /// Starts a dev agent (consul found by [`super::binary`]) and waits until it has a leader.
    pub fn start(options: ConsulOptions) -> Result<ConsulAgent, TestkitError> {
        Self::start_with_binary(&super::binary()?, options)
    }

    /// Starts the given consul binary as a dev agent on free ports and waits until it has a leader.
    pub fn start_with_binary(
        binary: &Path,
        options: ConsulOptions,
    ) -> Result<ConsulAgent, TestkitError> {
        if options.acl_bootstrap_by_test && !options.acl {
            return Err(TestkitError::InvalidOptions(
                "acl_bootstrap_by_test needs acl".to_string(),
            ));
        }
        let version = super::version(binary);
        retry_on_port_clash(|| {
            let dir = tempfile::Builder::new()
                .prefix("matchmaker-consul-")
                .tempdir()
                .map_err(|err| TestkitError::io("creating consul temp dir", err))?;
            let management_token =
                (options.acl && !options.acl_bootstrap_by_test).then(random_uuid);
            let http_port = free_port();
            let mut args = dev_agent_args(http_port);
            if options.acl {
                let config = dir.path().join("acl.hcl");
                std::fs::write(&config, acl_config(management_token.as_deref()))
                    .map_err(|err| TestkitError::io("writing the ACL config", err))?;
                let mut flag = OsString::from("-config-file=");
                flag.push(config.as_os_str());
                args.push(flag);
            }
            let https_port = options.tls.as_ref().map(|_| free_port());
            if let (Some(tls), Some(port)) = (&options.tls, https_port) {
                let config = dir.path().join("tls.hcl");
                std::fs::write(&config, tls_config(tls, port))
                    .map_err(|err| TestkitError::io("writing the TLS config", err))?;
                let mut flag = OsString::from("-config-file=");
                flag.push(config.as_os_str());
                args.push(flag);
            }
            let launch = Launch {
                server: "consul",
                program: binary.to_path_buf(),
                args,
                envs: vec![("CHECKPOINT_DISABLE".into(), "1".into())],
                log: dir.path().join("consul.log"),
            };
            let mut agent = ConsulAgent {
                process: ServerProcess::spawn(launch)?,
                http_port,
                https_port,
                management_token,
                version: version.clone(),
                _dir: dir,
            };
            agent.wait_ready()?;
            Ok(agent)
        })
    }

    /// HTTP API address `127.0.0.1:port` (no scheme).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    /// The HTTP API's port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// HTTPS API address `127.0.0.1:port`, when started with [`ConsulOptions::tls`].
    pub fn https_addr(&self) -> Option<String> {
        self.https_port.map(|port| format!("127.0.0.1:{port}"))
    }

    /// HTTP API base URL, `http://127.0.0.1:port`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The ACL master token (a management token) when started with `acl` and without
    /// `acl_bootstrap_by_test`.
    pub fn management_token(&self) -> Option<&str> {
        self.management_token.as_deref()
    }

    /// Process id while the agent runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Version of the consul binary (`1.8.7`), if it could be read.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Path of the agent's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Kills the agent with SIGKILL (a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops the agent with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        self.process.terminate(STOP_GRACE);
    }

    /// Starts the agent again on the same ports (stopping it first if it still runs) and waits
    /// until it has a leader. A dev agent comes back empty.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop();
        self.process.respawn()?;
        self.wait_ready()
    }

    /// Bootstraps the ACL system (`PUT /v1/acl/bootstrap`) and returns the new management token.
    /// Only works once, on an agent started with `acl` and `acl_bootstrap_by_test`.
    ///
    /// Right after the leader is elected, Consul 1.4–1.10 answer `500 The ACL system is
    /// currently in legacy mode.` until the leader has finished setting up the new ACL system;
    /// that answer consumes nothing, so it is retried for up to the readiness timeout.
    pub fn bootstrap_acl(&self) -> Result<String, TestkitError> {
        let failed = |detail: String| TestkitError::Command {
            command: format!("PUT {}/v1/acl/bootstrap", self.http_url()),
            detail,
        };
        let deadline = std::time::Instant::now() + READY_TIMEOUT;
        let response = loop {
            let response = http::request(
                http::DEFAULT_TIMEOUT,
                "PUT",
                &self.addr(),
                "/v1/acl/bootstrap",
                &[],
                "",
            )
            .map_err(failed)?;
            let still_legacy = response.status == 500 && response.body.contains("legacy mode");
            if !still_legacy || std::time::Instant::now() >= deadline {
                break response;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        if response.status != 200 {
            return Err(failed(format!(
                "{} {}",
                response.status,
                response.body.trim()
            )));
        }
        json_string_field(&response.body, "SecretID")
            .ok_or_else(|| failed(format!("no SecretID in {}", response.body.trim())))
    }

    fn wait_ready(&mut self) -> Result<(), TestkitError> {
        let addr = self.addr();
        let token = self.management_token.clone();
        wait_until_ready(&mut self.process, READY_TIMEOUT, |_| {
            super::check_leader(&addr)?;
            // With a master token, wait until the ACL system has created it.
            if let Some(token) = &token {
                let own = http::get(&addr, "/v1/acl/token/self", &[("X-Consul-Token", token)])?;
                if own.status != 200 {
                    return Err(format!("management token not usable yet ({})", own.status));
                }
            }
            Ok(())
        })
    }
}

fn dev_agent_args(http_port: u16) -> Vec<OsString> {
    [
        "agent".to_string(),
        "-dev".to_string(),
        "-bind=127.0.0.1".to_string(),
        "-client=127.0.0.1".to_string(),
        format!("-node=testkit-{http_port}"),
        "-log-level=info".to_string(),
        format!("-http-port={http_port}"),
        "-dns-port=-1".to_string(),
        "-grpc-port=-1".to_string(),
        format!("-serf-lan-port={}", free_port()),
        format!("-serf-wan-port={}", free_port()),
        format!("-server-port={}", free_port()),
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

/// HCL serving the API over HTTPS on `port` with `tls`'s files, client certificates required.
fn tls_config(tls: &crate::TlsFiles, port: u16) -> String {
    format!(
        "ports {{\n  https = {port}\n}}\nca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}\n\
         verify_incoming_https = true\n",
        tls.ca.display().to_string(),
        tls.cert.display().to_string(),
        tls.key.display().to_string()
    )
}

/// HCL for ACLs that deny by default; with a master token the agent also uses it for itself.
fn acl_config(master_token: Option<&str>) -> String {
    let tokens = master_token
        .map(|token| {
            format!("  tokens {{\n    master = \"{token}\"\n    agent = \"{token}\"\n  }}\n")
        })
        .unwrap_or_default();
    format!(
        "acl {{\n  enabled = true\n  default_policy = \"deny\"\n  \
         enable_token_persistence = false\n{tokens}}}\n"
    )
}

/// A random version-4 UUID (ACL tokens are UUIDs); std's random hasher seeds are enough for tests.
fn random_uuid() -> String {
    let half = || {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or_default(),
        );
        hasher.finish()
    };
    let bits = (u128::from(half()) << 64 | u128::from(half())) & !(0xf << 76) & !(0x3 << 62);
    let bits = bits | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The string value of `"name": "value"` in a JSON text (enough for Consul's flat answers).
fn json_string_field(json: &str, name: &str) -> Option<String> {
    let after_name = json.split(&format!("\"{name}\"")).nth(1)?;
    let after_colon = after_name.trim_start().strip_prefix(':')?.trim_start();
    let value = after_colon.strip_prefix('"')?;
    value.split('"').next().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuid_has_uuid_v4_shape_and_differs_each_time() {
        let first = random_uuid();
        assert_eq!(first.len(), 36);
        assert_eq!(first.chars().filter(|c| *c == '-').count(), 4);
        assert_eq!(&first[14..15], "4");
        assert_ne!(first, random_uuid());
    }

    #[test]
    fn acl_config_names_the_master_token_only_when_given() {
        assert!(acl_config(Some("t-1")).contains("master = \"t-1\""));
        assert!(!acl_config(None).contains("master"));
        assert!(acl_config(None).contains("default_policy = \"deny\""));
    }

    #[test]
    fn json_string_field_reads_a_value() {
        let body = "{\n  \"AccessorID\": \"a\",\n  \"SecretID\": \"s-1\"\n}";
        assert_eq!(json_string_field(body, "SecretID").as_deref(), Some("s-1"));
        assert_eq!(json_string_field(body, "Missing"), None);
    }

    #[test]
    fn bootstrap_by_test_without_acl_is_refused() {
        let options = ConsulOptions {
            acl: false,
            acl_bootstrap_by_test: true,
            ..ConsulOptions::default()
        };
        let error = ConsulAgent::start_with_binary(Path::new("/bin/false"), options).unwrap_err();
        assert!(matches!(error, TestkitError::InvalidOptions(_)), "{error}");
    }
}
