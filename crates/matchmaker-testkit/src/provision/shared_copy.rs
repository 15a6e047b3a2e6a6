//! The last resort: a package kept in the shared tools folder, checked against its SHA256SUMS.

use std::path::{Path, PathBuf};

use super::deb;
use crate::TestkitError;

/// Extracts `tools/<package>_*.deb` into `cache/root` after checking its sha256 against
/// `tools/SHA256SUMS`, and returns `cache/root/<binary>`; reuses an earlier extraction.
pub(crate) fn binary_from_shared_deb(
    tools: &Path,
    package: &str,
    binary: &str,
    cache: &Path,
) -> Result<PathBuf, TestkitError> {
    let cached = cache.join("root").join(binary);
    if crate::is_executable(&cached) {
        return Ok(cached);
    }
    let package_file = deb::newest_package_file(tools, package)?;
    deb::verify_checksum(&tools.join("SHA256SUMS"), &package_file)?;
    deb::extract_binary(&package_file, binary, cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampered_deb_is_rejected() {
        let tools = tempfile::tempdir().unwrap();
        let package = tools.path().join("consul_9.deb");
        std::fs::write(&package, b"not the real package").unwrap();
        std::fs::write(
            tools.path().join("SHA256SUMS"),
            format!("{}  consul_9.deb\n", "0".repeat(64)),
        )
        .unwrap();
        let cache = tempfile::tempdir().unwrap();
        let error = binary_from_shared_deb(tools.path(), "consul", "usr/bin/consul", cache.path())
            .unwrap_err();
        assert!(error.to_string().contains("checksum mismatch"), "{error}");
    }

    #[test]
    fn missing_shared_folder_is_an_error() {
        let cache = tempfile::tempdir().unwrap();
        let missing = cache.path().join("nope");
        assert!(
            binary_from_shared_deb(&missing, "consul", "usr/bin/consul", cache.path()).is_err()
        );
    }

    #[test]
    fn shared_copy_is_verified_and_extracted_when_present() {
        let tools = super::super::shared_tools_dir();
        if !tools.join("SHA256SUMS").exists() {
            eprintln!("skipping: no shared tools folder at {}", tools.display());
            return;
        }
        let cache = tempfile::tempdir().unwrap();
        let binary = binary_from_shared_deb(&tools, "consul", "usr/bin/consul", cache.path())
            .expect("shared copy extracts");
        assert!(crate::consul::version(&binary).is_some_and(|v| v.starts_with("1.")));
    }
}
