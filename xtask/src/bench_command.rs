//! `cargo xtask bench [etcd|consul]`: each backend's benchmark, relayed as it prints.
//!
//! Each bench (`harness = false`, in the backend's `benches/`) starts its own throwaway server
//! through `matchmaker-testkit` and prints a table of ratios against a baseline measured in the
//! same run. Not part of `cargo xtask test`: figures are for reading, never asserted.

use crate::project::cargo;
use crate::steps;

/// One backend's bench: the name shown and accepted on the command line, package, bench target.
struct Bench {
    name: &'static str,
    package: &'static str,
    target: &'static str,
}

const BENCHES: [Bench; 2] = [
    Bench {
        name: "etcd",
        package: "matchmaker-etcd",
        target: "etcd_vs_raw",
    },
    Bench {
        name: "consul",
        package: "matchmaker-consul",
        target: "consul_vs_raw",
    },
];

/// Runs the benches named in `selection` (all when empty), one `cargo bench` each, so one
/// failing does not hide the other; a missing server is a failure here, not a skip.
pub fn run(selection: &[String]) -> Result<(), ()> {
    let chosen = choose(selection)?;
    let mut results = Vec::new();
    for bench in chosen {
        if crate::interrupt::requested() {
            break;
        }
        let mut command = cargo(&["bench", "--package", bench.package, "--bench", bench.target]);
        command.env(matchmaker_testkit::TEST_REQUIRED_ENV, "1");
        results.push(steps::run(bench.name, &mut command));
    }
    let all_ok = !results.is_empty() && results.iter().all(|result| result.ok);
    let steps: Vec<String> = results.iter().map(steps::StepResult::describe).collect();
    let verdict = if all_ok { "ok" } else { "FAILED" };
    println!("xtask bench: {verdict}: {}", steps.join(", "));
    if all_ok {
        Ok(())
    } else {
        Err(())
    }
}

/// The benches named in `selection`, or all of them; an unknown name is an error listing the known.
fn choose(selection: &[String]) -> Result<Vec<&'static Bench>, ()> {
    if selection.is_empty() {
        return Ok(BENCHES.iter().collect());
    }
    selection
        .iter()
        .map(|wanted| {
            BENCHES
                .iter()
                .find(|bench| bench.name == wanted)
                .ok_or_else(|| {
                    let known: Vec<&str> = BENCHES.iter().map(|bench| bench.name).collect();
                    eprintln!(
                        "xtask bench: unknown bench {wanted:?}; known: {}",
                        known.join(", ")
                    );
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(chosen: &[&Bench]) -> Vec<&'static str> {
        chosen.iter().map(|bench| bench.name).collect()
    }

    #[test]
    fn no_selection_runs_every_bench() {
        assert_eq!(names(&choose(&[]).unwrap()), ["etcd", "consul"]);
    }

    #[test]
    fn a_selection_runs_only_the_named_benches() {
        assert_eq!(names(&choose(&["consul".to_string()]).unwrap()), ["consul"]);
    }

    #[test]
    fn an_unknown_bench_name_is_an_error() {
        assert!(choose(&["redis".to_string()]).is_err());
    }

    #[test]
    fn every_bench_target_is_declared_in_its_package_manifest() {
        for bench in &BENCHES {
            let manifest = crate::project::project_root()
                .join("crates")
                .join(bench.package)
                .join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).unwrap();
            assert!(
                text.contains(&format!("name = \"{}\"", bench.target)),
                "{} declares no bench {}",
                manifest.display(),
                bench.target
            );
        }
    }
}
