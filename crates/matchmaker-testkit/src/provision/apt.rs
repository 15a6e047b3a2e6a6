//! A Debian package fetched with a private APT configuration, and one binary taken out of it.
//!
//! Everything APT writes lives under the given folder (its own sources list, lists, status file and
//! cache): the system's sources are read to find the archive's address and never changed, nothing
//! is installed, and no root is needed.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{deb, sources};
use crate::TestkitError;

/// Keyring that signs Debian's archives (it also holds the keys of the releases before it).
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One binary out of one Debian package: `consul` from bullseye's `consul`, say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DebianBinary {
    /// The release to fetch from (`bookworm`, `bullseye`).
    pub suite: &'static str,
    /// The package name (`etcd-server`).
    pub package: &'static str,
    /// The binary's path inside the package (`usr/bin/etcd`).
    pub binary: &'static str,
}

impl DebianBinary {
    /// Returns `base/root/<binary>`, downloading and extracting the package first if needed.
    pub(crate) fn fetch(&self, base: &Path) -> Result<PathBuf, TestkitError> {
        let cached = base.join("root").join(self.binary);
        if crate::is_executable(&cached) {
            return Ok(cached);
        }
        let uri = sources::system_debian_uri().ok_or_else(|| TestkitError::Command {
            command: "reading /etc/apt sources".to_string(),
            detail: "no `bookworm` entry to borrow the Debian archive address from".to_string(),
        })?;
        let downloads = base.join("downloads");
        for dir in [
            base.join("state/lists/partial"),
            base.join("cache/archives/partial"),
            downloads.clone(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|err| TestkitError::io(format!("creating {}", dir.display()), err))?;
        }
        std::fs::write(base.join("state/status"), "")
            .map_err(|err| TestkitError::io("writing the private dpkg status file", err))?;
        eprintln!(
            "testkit: fetching Debian {} package {} into {}",
            self.suite,
            self.package,
            base.display()
        );
        let mut failures = Vec::new();
        for trust in trust_options() {
            let sources = format!("deb [{trust}] {uri} {} main\n", self.suite);
            std::fs::write(base.join("sources.list"), sources)
                .map_err(|err| TestkitError::io("writing the private sources list", err))?;
            if trust == "trusted=yes" {
                eprintln!(
                    "testkit: WARNING: {}'s signature could not be verified with the system \
                     keyrings; downloading {} with trusted=yes (unverified)",
                    self.suite, self.package
                );
            }
            let fetched = run_apt(base, &downloads, &["update"])
                .and_then(|_| run_apt(base, &downloads, &["download", self.package]));
            match fetched {
                Ok(_) => {
                    let package = deb::newest_package_file(&downloads, self.package)?;
                    return deb::extract_binary(&package, self.binary, base);
                }
                Err(error) => failures.push(format!("[{trust}] {error}")),
            }
        }
        Err(TestkitError::Command {
            command: format!(
                "apt-get download {} (private {} configuration)",
                self.package, self.suite
            ),
            detail: failures.join("; "),
        })
    }
}

/// Signature options to try, strictest first: the archive keyring, plus every release's own
/// keyrings, then no verification as the last resort.
fn trust_options() -> Vec<String> {
    let mut keyrings = vec![PathBuf::from(ARCHIVE_KEYRING)];
    if let Ok(entries) = std::fs::read_dir("/usr/share/keyrings") {
        let mut releases: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| {
                        name.starts_with("debian-archive-")
                            && !name.contains("removed")
                            && name != "debian-archive-keyring.gpg"
                    })
            })
            .collect();
        releases.sort();
        keyrings.extend(releases);
    }
    let all: Vec<String> = keyrings
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    vec![
        format!("signed-by={ARCHIVE_KEYRING}"),
        format!("signed-by={}", all.join(",")),
        "trusted=yes".to_string(),
    ]
}

/// Runs apt-get with every directory pointed into `base`, in the working directory `cwd`.
fn run_apt(base: &Path, cwd: &Path, args: &[&str]) -> Result<String, TestkitError> {
    let dir = |relative: &str| base.join(relative).display().to_string();
    let mut options = vec![
        format!("Dir::Etc::SourceList={}", dir("sources.list")),
        "Dir::Etc::SourceParts=/dev/null".to_string(),
        "Dir::Etc::Preferences=/dev/null".to_string(),
        "Dir::Etc::PreferencesParts=/dev/null".to_string(),
        format!("Dir::State={}", dir("state")),
        format!("Dir::State::Lists={}", dir("state/lists")),
        format!("Dir::State::status={}", dir("state/status")),
        format!("Dir::Cache={}", dir("cache")),
        "Acquire::Languages=none".to_string(),
        // Signature problems must fail the update instead of leaving old or unsigned lists.
        "APT::Update::Error-Mode=any".to_string(),
    ];
    if running_as_root() {
        // Root cannot hand our private folders to the `_apt` user; download as ourselves.
        options.push("APT::Sandbox::User=root".to_string());
    }
    let mut command = Command::new("apt-get");
    command.current_dir(cwd).arg("-q");
    for option in &options {
        command.arg("-o").arg(option);
    }
    command.args(args);
    super::run_command(&mut command)
}

/// True when this process runs as root (the owner of `/proc/self` is the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictest_trust_option_comes_first_and_unverified_last() {
        let options = trust_options();
        assert_eq!(options[0], format!("signed-by={ARCHIVE_KEYRING}"));
        assert!(!options[1].contains("removed"), "{}", options[1]);
        assert_eq!(options.last().map(String::as_str), Some("trusted=yes"));
    }

    #[test]
    #[ignore = "downloads about 27 MB from Debian's archive; run with --ignored"]
    fn bullseye_download_yields_a_runnable_consul() {
        let base = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let consul = DebianBinary {
            suite: "bullseye",
            package: "consul",
            binary: "usr/bin/consul",
        };
        let binary = consul
            .fetch(base.path())
            .expect("bullseye's consul downloads");
        eprintln!("downloaded and extracted in {:.1?}", started.elapsed());
        let version = crate::consul::version(&binary).expect("runs");
        assert!(version.starts_with("1.8."), "{version}");
        assert!(
            base.path().join("state/status").exists(),
            "private dpkg status used"
        );
    }
}
