//! `kensho-extract`: the command line over the kensho-extract crates.
//!
//! Exit codes: 0 success, 1 any error (one line on stderr saying what happened and what to do),
//! 2 a usage error (from clap).

mod auth;
mod emulator;
mod jobs;
mod keys;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Kensho Extract from the command line: keys, auth and PDF extraction.
#[derive(Debug, Parser)]
#[command(name = "kensho-extract", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make and inspect the RSA keypair that keypair authentication uses.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Submit a PDF for extraction; prints the request id.
    Submit(jobs::SubmitArgs),
    /// Print a request's status JSON.
    Status(jobs::StatusArgs),
    /// Write the output document of a finished request.
    Fetch(jobs::FetchArgs),
    /// Get, show and check access tokens.
    Auth {
        #[command(subcommand)]
        command: auth::AuthCommand,
        #[command(flatten)]
        auth: auth::AuthArgs,
    },
    /// Run a local stand-in for Kensho's Okta and Extract, for development and tests.
    Emulator(emulator::EmulatorArgs),
}

/// What a failed command reports: one line for stderr.
type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs an async command on a multi-threaded runtime.
fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn main() -> ExitCode {
    // Log lines go to stderr, warnings and up unless RUST_LOG says otherwise.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(command) => keys::run(command),
        Command::Emulator(args) => emulator::run(args),
        Command::Submit(args) => jobs::submit(args),
        Command::Status(args) => jobs::status(args),
        Command::Fetch(args) => jobs::fetch(args),
        Command::Auth { command, auth } => auth::run(command, &auth),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
