//! The tools a run needs (protoc, etcd, Consul), provisioned by the testkit and reported once each.

use std::ffi::OsString;
use std::sync::OnceLock;

use matchmaker_testkit::provision::{self, Provisioned};
use matchmaker_testkit::{consul, etcd, TestkitError};

use crate::servers::Server;

/// `PROTOC` and `PROTOC_INCLUDE` for every cargo command (etcd-client's build script runs protoc),
/// found once per run; empty when no protoc was found (the build then says what it misses).
pub fn protoc_env() -> &'static [(&'static str, OsString)] {
    static ENV: OnceLock<Vec<(&'static str, OsString)>> = OnceLock::new();
    ENV.get_or_init(|| match provision::protoc() {
        Ok(found) => {
            eprintln!("xtask: tool {}", found.protoc.describe("protoc"));
            found.env().into_iter().collect()
        }
        Err(error) => {
            eprintln!("xtask: WARNING: no protoc, building etcd-client will fail: {error}");
            Vec::new()
        }
    })
}

/// Finds (or fetches) protoc and the servers' binaries now, one line each, so a run's log says up
/// front what it uses and where from; the testkit remembers them for the rest of the run.
pub fn report(servers: &[Server]) {
    protoc_env();
    for server in servers {
        let found = match server {
            Server::Etcd => etcd::provision(),
            Server::Consul => consul::provision(),
        };
        report_one(&server.to_string(), found);
    }
}

fn report_one(tool: &str, found: Result<Provisioned, TestkitError>) {
    match found {
        Ok(found) => eprintln!("xtask: tool {}", found.describe(tool)),
        Err(error) => eprintln!("xtask: tool {tool} MISSING: {error}"),
    }
}
