//! Where the workspace is and how to call cargo in it.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root: the parent of this crate's folder (as rust-analyzer's xtask does).
pub fn project_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(PathBuf::from).unwrap_or(xtask_dir)
}

/// A `cargo` command (the one running us, when known) in the workspace root.
pub fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(project_root()).args(args);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn cargo_runs_in_the_project_root() {
        let command = cargo(&["--version"]);
        assert_eq!(command.get_current_dir(), Some(project_root().as_path()));
    }
}
