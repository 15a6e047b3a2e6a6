//! `matchmaker`: see and change which hosts serve which topics, from a shell.
//!
//! Exit codes: 0 success, 1 other failure, 2 usage error, 3 invalid input, 4 registry
//! unreachable, 5 not found or empty result, 6 credentials refused, 7 not supported by the
//! backend.

mod args;
mod commands;
mod failure;
mod output;
mod shutdown;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_tracing(cli.verbose);
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
    let outcome = runtime.block_on(commands::run(&cli));
    if let Some(counters) = counters {
        eprint!("{}", counters.render());
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Failures quote keys and server answers: escape what could spoof the terminal.
            eprintln!("{}", output::escape_untrusted(&failure.to_string()));
            failure.exit.into()
        }
    }
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
