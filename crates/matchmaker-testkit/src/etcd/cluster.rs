//! A throwaway etcd cluster of several members on loopback, for member and leader failures.

use std::ffi::OsString;

use tempfile::TempDir;

use crate::process::{Launch, ServerProcess};
use crate::readiness::{retry_on_port_clash, wait_until_ready, READY_TIMEOUT};
use crate::{free_port, TestkitError};

/// One member: its process and client port.
#[derive(Debug)]
struct Member {
    process: ServerProcess,
    client_port: u16,
}

/// A running etcd cluster on loopback. Dropping it kills every member and removes its data.
#[derive(Debug)]
pub struct EtcdCluster {
    // Field order matters: the processes die before their directory is removed.
    members: Vec<Member>,
    _dir: TempDir,
}

impl EtcdCluster {
    /// Starts `size` members (etcd found by [`super::binary`]) and waits until each serves
    /// clients with a leader.
    pub fn start(size: usize) -> Result<EtcdCluster, TestkitError> {
        let binary = super::binary()?;
        retry_on_port_clash(|| {
            let dir = tempfile::Builder::new()
                .prefix("matchmaker-etcd-cluster-")
                .tempdir()
                .map_err(|err| TestkitError::io("creating etcd cluster temp dir", err))?;
            let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
            let initial_cluster = ports
                .iter()
                .enumerate()
                .map(|(index, (_, peer))| format!("m{index}=http://127.0.0.1:{peer}"))
                .collect::<Vec<_>>()
                .join(",");
            let mut members = Vec::new();
            for (index, &(client_port, peer_port)) in ports.iter().enumerate() {
                let member_dir = dir.path().join(format!("m{index}"));
                let client = format!("http://127.0.0.1:{client_port}");
                let peer = format!("http://127.0.0.1:{peer_port}");
                let args: Vec<OsString> = [
                    format!("--name=m{index}"),
                    format!("--data-dir={}", member_dir.join("data").display()),
                    "--heartbeat-interval=10".to_string(),
                    "--election-timeout=100".to_string(),
                    format!("--listen-client-urls={client}"),
                    format!("--advertise-client-urls={client}"),
                    format!("--listen-peer-urls={peer}"),
                    format!("--initial-advertise-peer-urls={peer}"),
                    format!("--initial-cluster={initial_cluster}"),
                    "--initial-cluster-token=matchmaker-testkit".to_string(),
                    "--initial-cluster-state=new".to_string(),
                ]
                .into_iter()
                .map(OsString::from)
                .collect();
                std::fs::create_dir_all(&member_dir)
                    .map_err(|err| TestkitError::io("creating a member dir", err))?;
                let launch = Launch {
                    server: "etcd",
                    program: binary.clone(),
                    args,
                    envs: Vec::new(),
                    log: member_dir.join("etcd.log"),
                };
                members.push(Member {
                    process: ServerProcess::spawn(launch)?,
                    client_port,
                });
            }
            let mut cluster = EtcdCluster { members, _dir: dir };
            for index in 0..size {
                cluster.wait_ready(index)?;
            }
            Ok(cluster)
        })
    }

    /// Client endpoints `127.0.0.1:port`, one per member, in member order.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len())
            .map(|index| self.endpoint(index))
            .collect()
    }

    /// Client endpoint of member `index`.
    pub fn endpoint(&self, index: usize) -> String {
        format!("127.0.0.1:{}", self.members[index].client_port)
    }

    /// Kills member `index` with SIGKILL (a crash) and waits for it to exit.
    pub fn kill(&mut self, index: usize) {
        self.members[index].process.kill();
    }

    /// Starts member `index` again on its data and ports, and waits until it serves clients.
    pub fn restart(&mut self, index: usize) -> Result<(), TestkitError> {
        self.members[index].process.kill();
        self.members[index].process.respawn()?;
        self.wait_ready(index)
    }

    fn wait_ready(&mut self, index: usize) -> Result<(), TestkitError> {
        let endpoint = self.endpoint(index);
        wait_until_ready(&mut self.members[index].process, READY_TIMEOUT, |_| {
            super::check_health(&endpoint)
        })
    }
}
