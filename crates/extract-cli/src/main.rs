//! `kensho-extract`: the command line over the kensho-extract crates.
//!
//! Exit codes (see `exit.rs`): 0 success, 1 an error (one line on stderr saying what happened and
//! what to do), 2 a usage error (from clap), 3 a job failed on the service side, 4 a deadline
//! passed, 130 interrupted.

mod auth;
mod convert;
#[cfg(feature = "emulator")]
mod demo;
#[cfg(feature = "emulator")]
mod emulator;
mod exit;
mod jobs;
mod keys;
mod output;
mod review;
mod wait;

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
    /// Run the whole flow offline on the built-in emulator: key, token, upload, wait, output.
    #[cfg(feature = "emulator")]
    Demo(demo::DemoArgs),
    /// Extract PDFs (files and folders) into a directory, resuming where a previous run stopped.
    Run(wait::RunArgs),
    /// Wait for a submitted request and write its output.
    Wait(wait::WaitArgs),
    /// Convert an output document to Markdown, text, pages, CSV tables, items or sections.
    Convert(convert::ConvertArgs),
    /// Write a review page: every box Extract found, drawn on its page (over the PDF with --pdf).
    Review(review::ReviewArgs),
    /// What changed between two outputs of the same document, as text, JSON or a review page.
    Diff(review::DiffArgs),
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
    #[cfg(feature = "emulator")]
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
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => emulator::run(args),
        #[cfg(feature = "emulator")]
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => wait::run(args),
        Command::Wait(args) => wait::wait(args),
        Command::Convert(args) => convert::run(args),
        Command::Review(args) => review::review(args),
        Command::Diff(args) => review::diff(args),
        Command::Submit(args) => jobs::submit(args),
        Command::Status(args) => jobs::status(args),
        Command::Fetch(args) => jobs::fetch(args),
        Command::Auth { command, auth } => auth::run(command, &auth),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`convert … | head`) is not a failure: end quietly.
        Err(error) if exit::is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            match exit::hint(&error) {
                Some(hint) => eprintln!("error: {error}; {hint}"),
                None => eprintln!("error: {error}"),
            }
            ExitCode::from(exit::code_of(&error))
        }
    }
}
