//! `kensho-extract`: the command line over the kensho-extract crates.
//!
//! Exit codes (see `exit.rs`): 0 success, 1 an error (one line on stderr saying what happened and
//! what to do), 2 a usage error (from clap), 3 a job failed on the service side, 4 a deadline
//! passed, 130 interrupted.

#[cfg(not(any(
    feature = "rustls-ring",
    feature = "rustls-aws-lc",
    feature = "native-tls"
)))]
compile_error!(
    "kensho-extract needs a TLS stack: build with --features rustls-ring (or native-tls, rustls-aws-lc)"
);

mod commands;
mod connection;
mod deadline;
mod events;
mod exit;
mod extraction;
mod key_warning;
mod mode;
mod output;
mod preflight;
mod progress;
mod settings;
mod store;

use std::process::ExitCode;

use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use commands::{
    auth, cache, completions, config, convert, diff, fetch, keys, man, report, review, run, status,
    submit, wait,
};
#[cfg(feature = "emulator")]
use commands::{demo, emulator};

/// Kensho Extract from the command line: keys, auth and PDF extraction.
#[derive(Debug, Parser)]
#[command(name = "kensho-extract", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    connection: connection::ConnectionArgs,
    #[command(flatten)]
    chatter: Chatter,
}

/// How much the command says on stderr.
#[derive(Debug, Args)]
struct Chatter {
    /// No progress lines; only errors and warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Log more: -v what the client does, -vv each request (RUST_LOG overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `--quiet` was given: progress lines are left out.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
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
    Run(run::RunArgs),
    /// Sum up a run's output folder (local or a store URL): every shard's manifest merged into
    /// counts, failures, unknown outcomes and pages, as text or JSON.
    Report(report::ReportArgs),
    /// Wait for a submitted request and write its output.
    Wait(wait::WaitArgs),
    /// Convert an output document to Markdown, text, pages, CSV tables, items or sections.
    Convert(convert::ConvertArgs),
    /// Write a review page: every box Extract found, drawn on its page (over the PDF with --pdf).
    Review(review::ReviewArgs),
    /// What changed between two outputs of the same document, as text, JSON or a review page.
    Diff(diff::DiffArgs),
    /// Submit a PDF for extraction; prints the request id.
    Submit(submit::SubmitArgs),
    /// Print a request's status (`--json`: the service's status JSON).
    Status(status::StatusArgs),
    /// Write the output document of a finished request.
    Fetch(fetch::FetchArgs),
    /// Get, show and check access tokens.
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// The output cache: `stats`, `clear`, `path`.
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    /// Show the settings in force and where each came from; the config file's path.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Print a shell completion script: `kensho-extract completions bash > …/kensho-extract`.
    Completions(completions::CompletionsArgs),
    /// Print a man page in roff: `kensho-extract man | man -l -`, `kensho-extract man run`.
    Man(man::ManArgs),
    /// Print every command path, one a line (for packaging: one man page each).
    #[command(hide = true)]
    Commands,
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
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    QUIET.store(cli.chatter.quiet, Ordering::Relaxed);
    // Log lines go to stderr, warnings and up unless -v or RUST_LOG says otherwise.
    let level = match cli.chatter.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .init();
    // Resolved for the commands that talk to Kensho; a broken config file fails only those.
    let settings = settings::Settings::resolve(&cli.connection, &matches);
    let result = match cli.command {
        Command::Keys(command) => keys::run(command),
        #[cfg(feature = "emulator")]
        Command::Emulator(args) => emulator::run(args),
        #[cfg(feature = "emulator")]
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => settings.and_then(|s| run::run(args, &s)),
        Command::Wait(args) => settings.and_then(|s| wait::run(args, &s)),
        Command::Report(args) => report::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Review(args) => review::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Submit(args) => settings.and_then(|s| submit::run(args, &s)),
        Command::Status(args) => settings.and_then(|s| status::run(args, &s)),
        Command::Fetch(args) => settings.and_then(|s| fetch::run(args, &s)),
        Command::Auth(command) => settings.and_then(|s| auth::run(command, &s)),
        Command::Config(command) => config::run(command, settings),
        Command::Cache(command) => cache::run(command),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Commands => {
            for path in man::command_paths().into_iter().filter(|p| !p.is_empty()) {
                println!("{}", path.join(" "));
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`convert … | head`) is not a failure: end quietly.
        Err(error) if exit::is_closed_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // Each cause once: the libraries' messages leave their causes to `source()`. Names
            // in it come from outside: control characters are escaped, never sent raw.
            let shown = extract_batch::names::escaped(&extract_api::Chain(&*error).to_string());
            match exit::hint(&error) {
                Some(hint) => eprintln!("error: {shown}; {hint}"),
                None => eprintln!("error: {shown}"),
            }
            ExitCode::from(exit::code_of(&error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own checks of the command tree: a global flag and a subcommand's flag sharing a
    /// name, for one, panics at run time otherwise.
    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
