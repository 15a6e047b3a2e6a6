//! Where the workspace is and how to call cargo in it.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root, found at run time (see [`matchmaker_testkit::workspace_root`]): a target
/// directory shared by two checkouts runs each one's own tests.
pub fn project_root() -> PathBuf {
    matchmaker_testkit::workspace_root()
}

/// A `cargo` command (the one running us, when known) in the workspace root, with the protoc
/// that etcd-client's build script needs.
pub fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(project_root()).args(args);
    command.envs(crate::tools::protoc_env().iter().cloned());
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

    #[test]
    fn cargo_is_given_a_protoc_with_its_includes() {
        let command = cargo(&["--version"]);
        let names: Vec<_> = command
            .get_envs()
            .map(|(name, _)| name.to_owned())
            .collect();
        assert!(names.iter().any(|name| name == "PROTOC"), "{names:?}");
        assert!(
            names.iter().any(|name| name == "PROTOC_INCLUDE"),
            "{names:?}"
        );
    }
}
