//! Debian bullseye's `consul` package, fetched with a private APT configuration.
//!
//! Everything APT writes lives under the given folder (its own sources list, lists, status file and
//! cache): the system's sources are read to find the archive's address and never changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestkitError;

/// Keyring that signs Debian's archives (it also holds the bullseye keys).
const ARCHIVE_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Returns `base/root/usr/bin/consul`, downloading and extracting the package if needed.
pub(crate) fn consul_from_bullseye(base: &Path) -> Result<PathBuf, TestkitError> {
    let cached = base.join("root/usr/bin/consul");
    if crate::is_executable(&cached) {
        return Ok(cached);
    }
    let uri = system_debian_uri().ok_or_else(|| TestkitError::Command {
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

    let mut failures = Vec::new();
    for trust in trust_options() {
        let sources = format!("deb [{trust}] {uri} bullseye main\n");
        std::fs::write(base.join("sources.list"), sources)
            .map_err(|err| TestkitError::io("writing the private sources list", err))?;
        if trust == "trusted=yes" {
            eprintln!(
                "testkit: WARNING: bullseye's signature could not be verified with the system \
                 keyrings; downloading consul with trusted=yes (unverified)"
            );
        }
        let fetched = run_apt(base, &downloads, &["update"])
            .and_then(|_| run_apt(base, &downloads, &["download", "consul"]));
        match fetched {
            Ok(_) => {
                let deb = newest_deb(&downloads)?;
                return super::discovery::extract_consul_deb(&deb, base);
            }
            Err(error) => failures.push(format!("[{trust}] {error}")),
        }
    }
    Err(TestkitError::Command {
        command: "apt-get download consul (private bullseye configuration)".to_string(),
        detail: failures.join("; "),
    })
}

/// Signature options to try, strictest first: the archive keyring, plus bullseye's own keyrings,
/// then no verification as the last resort.
fn trust_options() -> Vec<String> {
    let mut keyrings = vec![PathBuf::from(ARCHIVE_KEYRING)];
    if let Ok(entries) = std::fs::read_dir("/usr/share/keyrings") {
        let mut bullseye: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("debian-archive-bullseye-"))
            })
            .collect();
        bullseye.sort();
        keyrings.extend(bullseye);
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
    let options = [
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
        // Root cannot hand our private folders to the `_apt` user; download as ourselves.
        "APT::Sandbox::User=root".to_string(),
    ];
    let mut command = Command::new("apt-get");
    command.current_dir(cwd).arg("-q");
    for option in &options {
        command.arg("-o").arg(option);
    }
    command.args(args);
    super::run_command(&mut command)
}

fn newest_deb(downloads: &Path) -> Result<PathBuf, TestkitError> {
    let entries = std::fs::read_dir(downloads)
        .map_err(|err| TestkitError::io(format!("reading {}", downloads.display()), err))?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .max()
        .ok_or_else(|| TestkitError::Command {
            command: "apt-get download consul".to_string(),
            detail: format!("no .deb in {}", downloads.display()),
        })
}

/// The Debian archive URI of the system's `bookworm` entry (deb822 `.sources` first, then
/// one-line `.list` files).
fn system_debian_uri() -> Option<String> {
    let mut deb822 = Vec::new();
    let mut one_line = Vec::new();
    one_line.extend(std::fs::read_to_string("/etc/apt/sources.list"));
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            match path.extension().and_then(|ext| ext.to_str()) {
                Some("sources") => deb822.push(text),
                Some("list") => one_line.push(text),
                _ => {}
            }
        }
    }
    deb822
        .iter()
        .find_map(|text| bookworm_uri_in_deb822(text))
        .or_else(|| {
            one_line
                .iter()
                .find_map(|text| bookworm_uri_in_one_line(text))
        })
}

/// First URI of a deb822 stanza of type `deb` whose suites include exactly `bookworm`.
fn bookworm_uri_in_deb822(text: &str) -> Option<String> {
    let content: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect();
    content
        .split(|line| line.trim().is_empty())
        .find_map(|stanza| {
            let field = |name: &str| {
                stanza.iter().find_map(|line| {
                    let (key, value) = line.split_once(':')?;
                    key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
                })
            };
            let words = |name: &str| field(name).unwrap_or_default().split_whitespace();
            let enabled = !field("Enabled").is_some_and(|value| value.eq_ignore_ascii_case("no"));
            let is_deb = words("Types").any(|kind| kind == "deb");
            let bookworm = words("Suites").any(|suite| suite == "bookworm");
            (enabled && is_deb && bookworm)
                .then(|| words("URIs").next().map(String::from))
                .flatten()
        })
}

/// URI of the first `deb [options] URI bookworm ...` line.
fn bookworm_uri_in_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let rest = line.strip_prefix("deb ")?.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(options) => options.split_once(']')?.1,
            None => rest,
        };
        let mut words = rest.split_whitespace();
        let uri = words.next()?;
        (words.next()? == "bookworm").then(|| uri.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The archive host below is a placeholder: no real mirror name is written in this repository.
    const SOURCES: &str =
        "Types: deb\n# http://old.example/debian\nURIs: http://mirror.example/debian\n\
        Suites: bookworm bookworm-updates\nComponents: main\n\n\
        Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";

    #[test]
    fn deb822_bookworm_stanza_gives_its_uri() {
        assert_eq!(
            bookworm_uri_in_deb822(SOURCES).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn deb822_security_only_stanza_is_not_taken() {
        let security_only =
            "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(bookworm_uri_in_deb822(security_only), None);
    }

    #[test]
    fn deb822_disabled_stanza_is_not_taken() {
        let disabled = "Enabled: no\nTypes: deb\nURIs: http://a.example/debian\nSuites: bookworm\n";
        assert_eq!(bookworm_uri_in_deb822(disabled), None);
    }

    #[test]
    fn one_line_entry_with_options_gives_its_uri() {
        let list = "# comment\ndeb-src http://src.example/debian bookworm main\n\
            deb [arch=amd64 signed-by=/k.gpg] http://b.example/debian bookworm main\n";
        assert_eq!(
            bookworm_uri_in_one_line(list).as_deref(),
            Some("http://b.example/debian")
        );
    }

    #[test]
    fn one_line_entry_for_another_suite_is_not_taken() {
        assert_eq!(
            bookworm_uri_in_one_line("deb http://c.example/debian trixie main"),
            None
        );
    }

    #[test]
    fn strictest_trust_option_comes_first_and_unverified_last() {
        let options = trust_options();
        assert_eq!(options[0], format!("signed-by={ARCHIVE_KEYRING}"));
        assert_eq!(options.last().map(String::as_str), Some("trusted=yes"));
    }

    #[test]
    #[ignore = "downloads about 27 MB from Debian's archive; run with --ignored"]
    fn bullseye_download_yields_a_runnable_consul() {
        let base = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let binary = consul_from_bullseye(base.path()).expect("bullseye's consul downloads");
        eprintln!("downloaded and extracted in {:.1?}", started.elapsed());
        let version = crate::consul::version(&binary).expect("runs");
        assert!(version.starts_with("1.8."), "{version}");
        assert!(
            base.path().join("state/status").exists(),
            "private dpkg status used"
        );
    }
}
