//! protoc and its well-known-type includes, for etcd-client's build script.
//!
//! prost-build reads `PROTOC` and `PROTOC_INCLUDE`; a protoc without the includes (Debian's
//! `protobuf-compiler` without `libprotobuf-dev`) fails on `google/protobuf/descriptor.proto`, so a
//! candidate is taken only with its includes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use super::Provisioned;
use crate::TestkitError;

/// The file whose presence shows an include folder holds the well-known types.
const WELL_KNOWN: &str = "google/protobuf/descriptor.proto";

/// A protoc and the include folder holding its well-known types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protoc {
    /// The protoc binary and where it came from.
    pub protoc: Provisioned,
    /// The folder holding `google/protobuf/*.proto`.
    pub include: PathBuf,
}

impl Protoc {
    /// The environment prost-build reads: `PROTOC` and `PROTOC_INCLUDE`.
    pub fn env(&self) -> [(&'static str, OsString); 2] {
        [
            ("PROTOC", self.protoc.path.clone().into()),
            ("PROTOC_INCLUDE", self.include.clone().into()),
        ]
    }
}

static FOUND: Mutex<Option<Protoc>> = Mutex::new(None);

/// Finds protoc once per process: `PROTOC` (with `PROTOC_INCLUDE`, or the includes beside it),
/// then `protoc` on `PATH` if its includes are there, then the `protoc-bin-vendored` package.
pub fn protoc() -> Result<Protoc, TestkitError> {
    let mut found = FOUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(protoc) = found.as_ref() {
        return Ok(protoc.clone());
    }
    let started = Instant::now();
    let mut reasons = Vec::new();
    let candidates = [
        ("PROTOC", from_env()),
        ("PATH", from_path()),
        ("the Rust package protoc-bin-vendored", vendored()),
    ];
    for (origin, candidate) in candidates {
        match candidate.and_then(checked) {
            Ok((path, include, version)) => {
                let protoc = Protoc {
                    protoc: Provisioned {
                        path,
                        origin: origin.to_string(),
                        version: Some(version),
                        took: started.elapsed(),
                    },
                    include,
                };
                *found = Some(protoc.clone());
                return Ok(protoc);
            }
            Err(why) => reasons.push(format!("{origin}: {why}")),
        }
    }
    Err(TestkitError::BinaryNotFound {
        server: "protoc",
        reason: reasons.join("; "),
    })
}

/// A candidate protoc and its include folder, if one was found.
type Candidate = Result<(PathBuf, Option<PathBuf>), String>;

fn from_env() -> Candidate {
    let protoc = std::env::var_os("PROTOC")
        .filter(|value| !value.is_empty())
        .ok_or("unset")?;
    let include = std::env::var_os("PROTOC_INCLUDE")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    Ok((PathBuf::from(protoc), include))
}

fn from_path() -> Candidate {
    let protoc = crate::find_on_path("protoc").ok_or("`protoc` not on PATH")?;
    Ok((protoc, None))
}

fn vendored() -> Candidate {
    let protoc = protoc_bin_vendored::protoc_bin_path().map_err(|err| err.to_string())?;
    let include = protoc_bin_vendored::include_path().map_err(|err| err.to_string())?;
    Ok((protoc, Some(include)))
}

/// The candidate with its include folder (given, or found beside it) and the version it reports.
fn checked(candidate: (PathBuf, Option<PathBuf>)) -> Result<(PathBuf, PathBuf, String), String> {
    let (protoc, include) = candidate;
    if !crate::is_executable(&protoc) {
        return Err(format!("{} is not an executable file", protoc.display()));
    }
    let version = version(&protoc)
        .ok_or_else(|| format!("{} does not run or reports no version", protoc.display()))?;
    let include = match include {
        Some(include) if include.join(WELL_KNOWN).is_file() => include,
        Some(include) => return Err(format!("{} holds no {WELL_KNOWN}", include.display())),
        None => includes_beside(&protoc).ok_or_else(|| {
            format!(
                "no {WELL_KNOWN} beside {} (Debian ships it in libprotobuf-dev)",
                protoc.display()
            )
        })?,
    };
    Ok((protoc, include, version))
}

/// `<prefix>/include` for a protoc at `<prefix>/bin/protoc`, when it holds the well-known types.
fn includes_beside(protoc: &Path) -> Option<PathBuf> {
    let prefix = protoc
        .canonicalize()
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    let include = prefix.join("include");
    include.join(WELL_KNOWN).is_file().then_some(include)
}

/// `36.2` from `libprotoc 36.2`.
fn version(protoc: &Path) -> Option<String> {
    let output = Command::new(protoc).arg("--version").output().ok()?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .strip_prefix("libprotoc ")
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_protoc_runs_and_has_its_includes() {
        let (path, include, version) = vendored().and_then(checked).expect("vendored protoc");
        assert!(path.is_file());
        assert!(include.join(WELL_KNOWN).is_file());
        assert!(!version.is_empty());
    }

    #[test]
    fn a_protoc_without_the_well_known_types_is_refused() {
        let (path, _) = vendored().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let why = checked((path, Some(empty.path().to_path_buf()))).unwrap_err();
        assert!(why.contains("descriptor.proto"), "{why}");
    }

    #[test]
    fn a_file_that_is_not_a_program_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("protoc");
        std::fs::write(&plain, b"").unwrap();
        assert!(checked((plain, None)).is_err());
    }

    #[test]
    fn protoc_is_found_with_its_includes_and_exported_for_prost_build() {
        let found = protoc().expect("some protoc is always found: the vendored one");
        let env = found.env();
        assert_eq!(env[0].0, "PROTOC");
        assert_eq!(env[1].1, OsString::from(&found.include));
        assert!(found.include.join(WELL_KNOWN).is_file());
    }
}
