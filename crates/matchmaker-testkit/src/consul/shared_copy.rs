//! The last resort: the consul package kept in the shared tools folder, checked against its SHA256SUMS.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestkitError;

/// Extracts `tools/consul_*.deb` into `cache/root` after checking its sha256 against
/// `tools/SHA256SUMS`; reuses an earlier extraction.
pub(crate) fn consul_from_shared_deb(tools: &Path, cache: &Path) -> Result<PathBuf, TestkitError> {
    let cached = cache.join("root/usr/bin/consul");
    if crate::is_executable(&cached) {
        return Ok(cached);
    }
    let deb = find_deb(tools)?;
    verify_checksum(tools, &deb)?;
    super::discovery::extract_consul_deb(&deb, cache)
}

fn find_deb(tools: &Path) -> Result<PathBuf, TestkitError> {
    let entries = std::fs::read_dir(tools)
        .map_err(|err| TestkitError::io(format!("reading {}", tools.display()), err))?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("consul_") && name.ends_with(".deb"))
        })
        .ok_or_else(|| {
            TestkitError::io(
                format!("looking for consul_*.deb in {}", tools.display()),
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such package"),
            )
        })
}

/// Checks the sha256 of `deb` against its line in `tools/SHA256SUMS`.
fn verify_checksum(tools: &Path, deb: &Path) -> Result<(), TestkitError> {
    let sums_path = tools.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path)
        .map_err(|err| TestkitError::io(format!("reading {}", sums_path.display()), err))?;
    let file_name = deb
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let expected = expected_sum(&sums, file_name).ok_or_else(|| TestkitError::Command {
        command: format!("checksum of {file_name}"),
        detail: format!("{} has no line for {file_name}", sums_path.display()),
    })?;
    let output = super::run_command(Command::new("sha256sum").arg(deb))?;
    let actual = output.split_whitespace().next().unwrap_or_default();
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(TestkitError::Command {
            command: format!("sha256sum {}", deb.display()),
            detail: format!("checksum mismatch: expected {expected}, got {actual}"),
        });
    }
    Ok(())
}

/// The checksum listed for `file_name` in a `sha256sum`-format text.
fn expected_sum<'a>(sums: &'a str, file_name: &str) -> Option<&'a str> {
    sums.lines().find_map(|line| {
        let (sum, name) = line.split_once(char::is_whitespace)?;
        (name.trim().trim_start_matches('*') == file_name).then_some(sum)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_sum_finds_the_line_of_the_file() {
        let sums = "abc  other.deb\ndef *consul_1.deb\n";
        assert_eq!(expected_sum(sums, "consul_1.deb"), Some("def"));
        assert_eq!(expected_sum(sums, "missing.deb"), None);
    }

    #[test]
    fn tampered_deb_is_rejected() {
        let tools = tempfile::tempdir().unwrap();
        let deb = tools.path().join("consul_9.deb");
        std::fs::write(&deb, b"not the real package").unwrap();
        std::fs::write(
            tools.path().join("SHA256SUMS"),
            format!("{}  consul_9.deb\n", "0".repeat(64)),
        )
        .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let error = consul_from_shared_deb(tools.path(), cache.path()).unwrap_err();
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
    }

    #[test]
    fn missing_shared_folder_is_an_error() {
        let cache = tempfile::tempdir().unwrap();
        let missing = cache.path().join("nope");
        assert!(consul_from_shared_deb(&missing, cache.path()).is_err());
    }

    #[test]
    fn shared_copy_is_verified_and_extracted_when_present() {
        let tools = crate::workspace_root().join("../shared/tools");
        if !tools.join("SHA256SUMS").exists() {
            eprintln!("skipping: no shared tools folder at {}", tools.display());
            return;
        }
        let cache = tempfile::tempdir().unwrap();
        let binary = consul_from_shared_deb(&tools, cache.path()).expect("shared copy extracts");
        assert!(crate::consul::version(&binary).is_some_and(|v| v.starts_with("1.")));
    }
}
