//! `cargo xtask`: the project's automation, run through the cargo alias in `.cargo/config.toml`.
//!
//! `cargo xtask test` is THE test command: fmt check, clippy, then every test with a real etcd and a
//! real Consul agent started for the run. CI (`.ci/run`) calls exactly this.

mod bench_command;
mod faults_command;
mod interrupt;
mod project;
mod servers;
mod steps;
mod test_command;
mod tools;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test                  fmt check, clippy -D warnings, docs -D warnings, then all tests with a
                        real etcd and Consul
  etcd   [ARGS...]      start etcd only and run `cargo test -p matchmaker-etcd --all-features ARGS`
  consul [ARGS...]      start Consul only and run `cargo test -p matchmaker-consul --all-features ARGS`
  faults                the fault suite (servers killed, stopped, cut off) and the figures it
                        measured (RELIABILITY.md); `test` runs it too
  servers               start etcd and Consul, print their environment exports, wait for Ctrl-C
  bench  [etcd|consul]  run the benchmarks (`cargo bench`, own servers), print ratios to baselines
  help                  this text

ARGS go to `cargo test` (use `-- --nocapture` for the test binaries' options).
With MATCHMAKER_TEST_REQUIRED=1 a server that cannot be started is a failure, not a skip.
protoc, etcd and consul are taken from PROTOC / MATCHMAKER_ETCD_BIN / MATCHMAKER_CONSUL_BIN or PATH,
else fetched (protoc-bin-vendored; Debian packages under target/tools) and cached.";

fn main() -> ExitCode {
    interrupt::install();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let rest = strip_leading_separator(rest);
    let outcome = match command {
        "test" if rest.is_empty() => test_command::full(),
        "etcd" => test_command::one_backend(servers::Server::Etcd, rest),
        "consul" => test_command::one_backend(servers::Server::Consul, rest),
        "faults" if rest.is_empty() => test_command::faults(),
        "servers" if rest.is_empty() => servers::serve_until_interrupted(),
        "bench" => bench_command::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!(
                "xtask: unknown command or arguments: {}\n\n{USAGE}",
                args.join(" ")
            );
            Err(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(()) if interrupt::requested() => ExitCode::from(130),
        Err(()) => ExitCode::FAILURE,
    }
}

/// `cargo xtask etcd -- --test x` and `cargo xtask etcd --test x` mean the same.
fn strip_leading_separator(args: &[String]) -> &[String] {
    match args.split_first() {
        Some((first, rest)) if first == "--" => rest,
        _ => args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    #[test]
    fn leading_double_dash_is_dropped_once() {
        assert_eq!(
            strip_leading_separator(&strings(&["--", "--", "-q"])),
            strings(&["--", "-q"])
        );
    }

    #[test]
    fn arguments_without_a_leading_double_dash_are_kept() {
        assert_eq!(
            strip_leading_separator(&strings(&["--lib", "--"])),
            strings(&["--lib", "--"])
        );
    }
}
