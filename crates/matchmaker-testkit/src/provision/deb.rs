//! Taking one binary out of a `.deb` file, and checking a file against a `SHA256SUMS` list.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestkitError;

/// Extracts the `.deb` at `deb` into `root_parent/root` (atomically, via a temp dir) and returns
/// `root/<binary>`.
pub(crate) fn extract_binary(
    deb: &Path,
    binary: &str,
    root_parent: &Path,
) -> Result<PathBuf, TestkitError> {
    let root = root_parent.join("root");
    std::fs::create_dir_all(root_parent)
        .map_err(|err| TestkitError::io(format!("creating {}", root_parent.display()), err))?;
    let staging = tempfile::Builder::new()
        .prefix("extract-")
        .tempdir_in(root_parent)
        .map_err(|err| TestkitError::io("creating an extraction dir", err))?;
    super::run_command(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb)
            .arg(staging.path()),
    )?;
    if !crate::is_executable(&staging.path().join(binary)) {
        return Err(TestkitError::Command {
            command: format!("dpkg-deb -x {}", deb.display()),
            detail: format!("the package holds no {binary}"),
        });
    }
    // Another process may have extracted it meanwhile: then keep theirs.
    if std::fs::rename(staging.path(), &root).is_err() && !root.join(binary).exists() {
        return Err(TestkitError::io(
            format!("moving the extracted package to {}", root.display()),
            std::io::Error::other("rename failed"),
        ));
    }
    Ok(root.join(binary))
}

/// The newest `<package>_*.deb` in `dir` (file names sort by version for one package).
pub(crate) fn newest_package_file(dir: &Path, package: &str) -> Result<PathBuf, TestkitError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|err| TestkitError::io(format!("reading {}", dir.display()), err))?;
    let prefix = format!("{package}_");
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".deb"))
        })
        .max()
        .ok_or_else(|| {
            TestkitError::io(
                format!("looking for {prefix}*.deb in {}", dir.display()),
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such package"),
            )
        })
}

/// Checks the sha256 of `file` against its line in the `SHA256SUMS` file at `sums_path`.
pub(crate) fn verify_checksum(sums_path: &Path, file: &Path) -> Result<(), TestkitError> {
    let sums = std::fs::read_to_string(sums_path)
        .map_err(|err| TestkitError::io(format!("reading {}", sums_path.display()), err))?;
    let file_name = file
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let expected = expected_sum(&sums, file_name).ok_or_else(|| TestkitError::Command {
        command: format!("checksum of {file_name}"),
        detail: format!("{} has no line for {file_name}", sums_path.display()),
    })?;
    let output = super::run_command(Command::new("sha256sum").arg(file))?;
    let actual = output.split_whitespace().next().unwrap_or_default();
    if !actual.eq_ignore_ascii_case(expected) {
        return Err(TestkitError::Command {
            command: format!("sha256sum {}", file.display()),
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
    fn the_newest_file_of_the_named_package_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "etcd-server_3.4.22_amd64.deb",
            "etcd-server_3.4.23_amd64.deb",
            "etcd-client_9.9_amd64.deb",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found = newest_package_file(dir.path(), "etcd-server").unwrap();
        assert!(found.ends_with("etcd-server_3.4.23_amd64.deb"), "{found:?}");
        assert!(newest_package_file(dir.path(), "consul").is_err());
    }

    #[test]
    fn a_file_that_is_not_a_package_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.deb");
        std::fs::write(&fake, b"not a package").unwrap();
        assert!(extract_binary(&fake, "usr/bin/etcd", dir.path()).is_err());
    }
}
