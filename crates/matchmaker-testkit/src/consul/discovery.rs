//! Finding a consul binary: environment/PATH, then Debian bullseye's package, then the shared copy.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use super::{apt_download, shared_copy};
use crate::TestkitError;

/// The binary found by an earlier call in this process (finding it may download 15 MB).
static FOUND: Mutex<Option<PathBuf>> = Mutex::new(None);

/// One way of getting consul, given the workspace's `target` folder.
type FindStep = fn(&Path) -> Result<PathBuf, TestkitError>;

/// Finds a consul binary, trying in order:
/// 1. `MATCHMAKER_CONSUL_BIN`, then `consul` on `PATH`;
/// 2. Debian bullseye's `consul` package, fetched with a private APT configuration under
///    `<workspace>/target/consul-apt/` (reused once extracted);
/// 3. `<workspace>/../shared/tools/consul_*.deb`, verified against the `SHA256SUMS` beside it.
///
/// Each failed step is reported on stderr with its reason; the error lists all of them.
pub fn binary() -> Result<PathBuf, TestkitError> {
    let mut found = FOUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = found.as_ref() {
        return Ok(path.clone());
    }
    let path = discover()?;
    *found = Some(path.clone());
    Ok(path)
}

fn discover() -> Result<PathBuf, TestkitError> {
    let mut reasons = Vec::new();
    let env_value = std::env::var_os(super::BIN_ENV);
    match from_env_or_path(env_value, std::env::var_os("PATH")) {
        Ok(path) => return Ok(path),
        Err(why) => reasons.push(format!("env/PATH: {why}")),
    }
    let target = crate::workspace_root().join("target");
    let steps: [(&str, FindStep); 2] = [
        ("Debian bullseye package", |target| {
            apt_download::consul_from_bullseye(&target.join("consul-apt"))
        }),
        ("shared copy", |target| {
            let tools = crate::workspace_root().join("../shared/tools");
            shared_copy::consul_from_shared_deb(&tools, &target.join("consul-shared"))
        }),
    ];
    for (step, find) in steps {
        let started = Instant::now();
        match find(&target) {
            Ok(path) => {
                eprintln!(
                    "testkit: consul from {step}: {} ({:.1?})",
                    path.display(),
                    started.elapsed()
                );
                return Ok(path);
            }
            Err(error) => {
                eprintln!("testkit: consul from {step} failed: {error}");
                reasons.push(format!("{step}: {error}"));
            }
        }
    }
    Err(TestkitError::BinaryNotFound {
        server: "consul",
        reason: reasons.join("; "),
    })
}

/// Step 1: the binary named by the environment variable's value, else `consul` in `path_var`.
fn from_env_or_path(
    env_value: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf, String> {
    let mut why = Vec::new();
    match env_value.filter(|value| !value.is_empty()) {
        Some(path) if crate::is_executable(Path::new(&path)) => return Ok(PathBuf::from(path)),
        Some(path) => {
            let message = format!(
                "{}={} is not an executable file",
                super::BIN_ENV,
                Path::new(&path).display()
            );
            eprintln!("testkit: {message}");
            why.push(message);
        }
        None => why.push(format!("{} unset", super::BIN_ENV)),
    }
    match crate::find_in_path_var("consul", path_var) {
        Some(path) => Ok(path),
        None => {
            why.push("`consul` not on PATH".to_string());
            Err(why.join(", "))
        }
    }
}

/// Extracts the `.deb` at `deb` into `root_parent/root` (atomically, via a temp dir) and returns
/// `root/usr/bin/consul`.
pub(crate) fn extract_consul_deb(deb: &Path, root_parent: &Path) -> Result<PathBuf, TestkitError> {
    let root = root_parent.join("root");
    std::fs::create_dir_all(root_parent)
        .map_err(|err| TestkitError::io(format!("creating {}", root_parent.display()), err))?;
    let staging = tempfile::Builder::new()
        .prefix("extract-")
        .tempdir_in(root_parent)
        .map_err(|err| TestkitError::io("creating an extraction dir", err))?;
    super::run_command(
        std::process::Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb)
            .arg(staging.path()),
    )?;
    let binary = staging.path().join("usr/bin/consul");
    if !crate::is_executable(&binary) {
        return Err(TestkitError::Command {
            command: format!("dpkg-deb -x {}", deb.display()),
            detail: "the package holds no usr/bin/consul".to_string(),
        });
    }
    // Another process may have extracted it meanwhile: then keep theirs.
    if std::fs::rename(staging.path(), &root).is_err() && !root.join("usr/bin/consul").exists() {
        return Err(TestkitError::io(
            format!("moving the extracted package to {}", root.display()),
            std::io::Error::other("rename failed"),
        ));
    }
    Ok(root.join("usr/bin/consul"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder holding an executable named `consul`.
    fn folder_with_fake_consul() -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consul");
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    #[test]
    fn env_variable_wins_over_path() {
        let named = folder_with_fake_consul();
        let on_path = folder_with_fake_consul();
        let found = from_env_or_path(
            Some(named.path().join("consul").into()),
            Some(on_path.path().into()),
        );
        assert_eq!(found, Ok(named.path().join("consul")));
    }

    #[test]
    fn non_executable_env_value_falls_back_to_path() {
        let on_path = folder_with_fake_consul();
        let plain_file = on_path.path().join("not-executable");
        std::fs::write(&plain_file, "data").unwrap();
        let found = from_env_or_path(Some(plain_file.into()), Some(on_path.path().into()));
        assert_eq!(found, Ok(on_path.path().join("consul")));
    }

    #[test]
    fn nothing_found_explains_both_places() {
        let empty = tempfile::tempdir().unwrap();
        let why = from_env_or_path(None, Some(empty.path().into())).unwrap_err();
        assert!(why.contains("MATCHMAKER_CONSUL_BIN unset"), "{why}");
        assert!(why.contains("not on PATH"), "{why}");
    }
}
