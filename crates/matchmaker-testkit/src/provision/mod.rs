//! Getting the tools the tests need on a machine that has Rust and nothing else.
//!
//! A server binary is looked for in order: the environment variable that names it, the `PATH`, a
//! Debian package fetched with a private APT configuration under `target/tools/` (no root, the
//! system's sources untouched), and, for Consul, the checksummed copy in `../shared/tools`. Each
//! candidate must run and report its version before it is taken. protoc comes from `PROTOC`, the
//! `PATH` (when its well-known-type includes are there too) or the `protoc-bin-vendored` package.

mod apt;
mod deb;
mod protoc;
mod shared_copy;
mod sources;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) use apt::DebianBinary;
pub use protoc::{protoc, Protoc};

use crate::TestkitError;

/// A tool that was found or fetched: where it is, where it came from, and how long that took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The executable.
    pub path: PathBuf,
    /// Where it came from: `PATH`, `MATCHMAKER_ETCD_BIN`, `Debian bookworm package etcd-server`.
    pub origin: String,
    /// The version it reports, if it reports one.
    pub version: Option<String>,
    /// How long finding (and perhaps downloading) it took.
    pub took: Duration,
}

impl Provisioned {
    /// One line for a run's log: `etcd 3.4.23 from PATH (/usr/bin/etcd) in 0.0s`.
    pub fn describe(&self, tool: &str) -> String {
        format!(
            "{tool} {} from {} ({}) in {:.1}s",
            self.version.as_deref().unwrap_or("(unknown version)"),
            self.origin,
            self.path.display(),
            self.took.as_secs_f64()
        )
    }
}

/// How to find one server binary.
pub(crate) struct BinarySpec {
    /// The tool's name, also its file name on `PATH` (`etcd`).
    pub name: &'static str,
    /// The environment variable that names the binary to use.
    pub env: &'static str,
    /// Reads the version a candidate reports; None means the candidate does not run.
    pub version: fn(&Path) -> Option<String>,
    /// The Debian package that ships it, if any.
    pub debian: Option<DebianBinary>,
    /// Whether `../shared/tools` may hold a copy of that package (the last resort).
    pub shared_copy: bool,
}

/// One way of getting a binary: its description, and the path it yields.
type Step<'a> = (String, Box<dyn Fn() -> Result<PathBuf, TestkitError> + 'a>);

impl BinarySpec {
    /// The binary found by an earlier call that used `memo`, else a new search (remembered on
    /// success, since a search may download a package).
    pub(crate) fn find_once(
        &self,
        memo: &Mutex<Option<Provisioned>>,
    ) -> Result<Provisioned, TestkitError> {
        let mut found = memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(tool) = found.as_ref() {
            return Ok(tool.clone());
        }
        let tool = self.find()?;
        *found = Some(tool.clone());
        Ok(tool)
    }

    /// Tries each step in order; the error lists why each one failed.
    fn find(&self) -> Result<Provisioned, TestkitError> {
        let started = Instant::now();
        let mut reasons = Vec::new();
        for (origin, step) in self.steps() {
            let outcome = step().and_then(|path| match (self.version)(&path) {
                Some(version) => Ok((path, version)),
                None => Err(TestkitError::Command {
                    command: format!("{} version", path.display()),
                    detail: "it does not run or reports no version".to_string(),
                }),
            });
            match outcome {
                Ok((path, version)) => {
                    return Ok(Provisioned {
                        path,
                        origin,
                        version: Some(version),
                        took: started.elapsed(),
                    })
                }
                Err(error) => {
                    if origin == self.env {
                        eprintln!("testkit: {} is not usable: {error}", self.env);
                    }
                    reasons.push(format!("{origin}: {error}"));
                }
            }
        }
        Err(TestkitError::BinaryNotFound {
            server: self.name,
            reason: reasons.join("; "),
        })
    }

    fn steps(&self) -> Vec<Step<'_>> {
        let env_value = std::env::var_os(self.env).filter(|value| !value.is_empty());
        let mut steps: Vec<Step<'_>> = Vec::new();
        if let Some(value) = env_value {
            steps.push((
                self.env.to_string(),
                Box::new(move || executable(PathBuf::from(&value))),
            ));
        }
        steps.push((
            "PATH".to_string(),
            Box::new(|| {
                crate::find_on_path(self.name).ok_or_else(|| {
                    TestkitError::io(
                        format!("looking for `{}` on PATH", self.name),
                        std::io::Error::new(std::io::ErrorKind::NotFound, "not there"),
                    )
                })
            }),
        ));
        let Some(debian) = self.debian else {
            return steps;
        };
        let cache = tools_dir().join(format!("{}-debian", self.name));
        let cached = if cache.join("root").join(debian.binary).exists() {
            ", cached"
        } else {
            ""
        };
        steps.push((
            format!("Debian {} package {}{cached}", debian.suite, debian.package),
            Box::new(move || debian.fetch(&cache)),
        ));
        if self.shared_copy {
            steps.push((
                format!("the shared copy of {}", debian.package),
                Box::new(move || {
                    shared_copy::binary_from_shared_deb(
                        &shared_tools_dir(),
                        debian.package,
                        debian.binary,
                        &tools_dir().join(format!("{}-shared", self.name)),
                    )
                }),
            ));
        }
        steps
    }
}

/// `path` itself when it is an executable file.
fn executable(path: PathBuf) -> Result<PathBuf, TestkitError> {
    if crate::is_executable(&path) {
        Ok(path)
    } else {
        Err(TestkitError::io(
            format!("checking {}", path.display()),
            std::io::Error::other("not an executable file"),
        ))
    }
}

/// Where provisioned tools are cached: `<target dir>/tools`.
pub fn tools_dir() -> PathBuf {
    crate::target_dir().join("tools")
}

/// The shared tools folder beside the checkout (`<workspace>/../shared/tools`).
pub(crate) fn shared_tools_dir() -> PathBuf {
    crate::workspace_root().join("../shared/tools")
}

/// Runs a helper command, returning its stdout, or an error with its status and output.
pub(crate) fn run_command(command: &mut Command) -> Result<String, TestkitError> {
    let line = format!("{command:?}").replace('"', "");
    let output = command
        .output()
        .map_err(|err| TestkitError::io(format!("running {line}"), err))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
    Err(TestkitError::Command {
        command: line,
        detail: format!(
            "{}: {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A folder holding an executable `name` that prints `output`.
    fn folder_with_script(name: &str, output: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{output}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn spec(env: &'static str) -> BinarySpec {
        BinarySpec {
            name: "matchmaker-testkit-fake-tool",
            env,
            version: |path| {
                let output = Command::new(path).output().ok()?;
                let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
                text.strip_prefix("fake ").map(String::from)
            },
            debian: None,
            shared_copy: false,
        }
    }

    #[test]
    fn describe_names_version_origin_path_and_time() {
        let tool = Provisioned {
            path: PathBuf::from("/usr/bin/etcd"),
            origin: "PATH".to_string(),
            version: Some("3.4.23".to_string()),
            took: Duration::from_millis(40),
        };
        assert_eq!(
            tool.describe("etcd"),
            "etcd 3.4.23 from PATH (/usr/bin/etcd) in 0.0s"
        );
    }

    #[test]
    fn the_environment_variable_is_tried_first_and_must_report_a_version() {
        let named = folder_with_script("matchmaker-testkit-fake-tool", "fake 1.2");
        let env = "MATCHMAKER_TESTKIT_FAKE_TOOL_BIN_A";
        std::env::set_var(env, named.path().join("matchmaker-testkit-fake-tool"));
        let found = spec(env).find();
        std::env::remove_var(env);
        let found = found.expect("the named binary is taken");
        assert_eq!(found.origin, env);
        assert_eq!(found.version.as_deref(), Some("1.2"));
    }

    #[test]
    fn a_candidate_that_reports_no_version_is_passed_over_with_its_reason() {
        let broken = folder_with_script("matchmaker-testkit-fake-tool", "garbage");
        let env = "MATCHMAKER_TESTKIT_FAKE_TOOL_BIN_B";
        std::env::set_var(env, broken.path().join("matchmaker-testkit-fake-tool"));
        let error = spec(env).find().unwrap_err().to_string();
        std::env::remove_var(env);
        assert!(error.contains("reports no version"), "{error}");
        assert!(error.contains("PATH: looking for"), "{error}");
    }
}
