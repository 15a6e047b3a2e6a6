//! `matchmaker`: see and change which hosts serve which topics, from a shell.
//!
//! Exit codes (the table is in `--help`): 0 success, 1 other failure, 2 usage error, 3 invalid
//! input, 4 registry unreachable, 5 not found, 6 credentials refused, 7 not supported by the
//! backend.

mod args;
mod commands;
mod failure;
mod output;
mod shutdown;
mod target;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    if let args::Command::Completions { shell } = &cli.command {
        let mut command = args::Cli::command();
        clap_complete::generate(*shell, &mut command, "matchmaker", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    init_tracing(cli.verbose);
    let target = match target::resolve(cli.url.as_deref(), |name| std::env::var(name).ok()) {
        Ok(target) => target,
        Err(failure) => return fail(&failure),
    };
    tracing::info!(
        registry = %target.described(),
        "registry chosen"
    );
    for note in &target.notes {
        tracing::info!("{note}");
    }
    let counters = cli.metrics.then(matchmaker::telemetry::Counters::global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(commands::run(&cli, &target));
    if let Some(counters) = counters {
        eprint!("{}", counters.render());
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &failure::Failure) -> ExitCode {
    // Failures quote keys and server answers: escape what could spoof the terminal.
    eprintln!("{}", output::escape_untrusted(&failure.to_string()));
    failure.exit.into()
}

/// Logs to stderr: `-v` info, `-vv` debug, `-vvv` trace (plus the libraries underneath);
/// without `-v`, RUST_LOG or warnings only.
fn init_tracing(verbose: u8) {
    let filter = match verbose {
        0 => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        // Targets match by prefix: `matchmaker` covers the CLI, the facade and every
        // `matchmaker_*` crate; the libraries underneath stay at warn until -vvv.
        1 => EnvFilter::new("warn,matchmaker=info"),
        2 => EnvFilter::new("warn,matchmaker=debug"),
        _ => EnvFilter::new("debug,matchmaker=trace"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
