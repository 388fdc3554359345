//! `kensho-extract`: the command line over the kensho-extract crates.
//!
//! Exit codes: 0 success, 1 any error (one line on stderr saying what happened and what to do),
//! 2 a usage error (from clap).

mod emulator;
mod keys;

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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(command) => keys::run(command),
        Command::Emulator(args) => emulator::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
