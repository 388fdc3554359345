//! `cargo xtask`: the project's own automation, in Rust so it runs wherever cargo does.

mod bench;
mod bench_memory;
mod bench_polls;
mod bench_rate;
mod bench_review;
mod bench_scale;
mod bench_store;
mod bigpdf;
mod codegen;
mod dist;
mod image;
mod lint;
mod msrv;
mod public_api;
mod record;
mod release;
mod variants;
mod workspace_hack;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bump every crate to VERSION, date the CHANGELOG's Unreleased section, `cargo package` all.
    Release {
        /// The new version, such as 0.1.1.
        version: String,
        /// Show what would change; write nothing, package nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Generate `extract-api`'s types from `docs/openapi/extract-v3.yaml`, and
    /// `workspace-hack/Cargo.toml` from cargo's unit graphs.
    Codegen {
        /// Fail if the checked-in code differs from what the contract gives (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Write shell completions and man pages into `target/dist/` (for packagers).
    Dist {
        /// Use this kensho-extract binary instead of building the release one.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
    },
    /// Build the container image (an OCI archive in target/image/) with buildah: the release
    /// binary, its shared libraries, CA certificates, a non-root user; no base image.
    Image {
        /// Put this binary in the image instead of building the release one.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Where to write the OCI archive.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check that every crate's `rust-version` is the toolchain CI builds with.
    Msrv,
    /// Build the tests with clippy as the compiler (warnings denied), check that each library's
    /// public API shows only the other crates `docs/stability.md` lists, and check the feature
    /// sets the test build does not compile (the production binary, each TLS stack alone).
    Lint,
    /// Run a benchmark against its baseline in the same run and print the ratio.
    Bench {
        #[command(subcommand)]
        which: bench::Bench,
    },
}

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Release { version, dry_run } => release::run(&workspace_root(), &version, dry_run),
        Command::Codegen { check } => codegen::run(&workspace_root(), check)
            .and_then(|()| workspace_hack::run(&workspace_root(), check)),
        Command::Dist { binary } => dist::run(&workspace_root(), binary),
        Command::Image { binary, out } => image::run(&workspace_root(), binary, out),
        Command::Msrv => msrv::run(&workspace_root()),
        Command::Lint => lint::run(&workspace_root()),
        Command::Bench { which } => bench::run(&workspace_root(), which),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A cargo command without the variables `cargo run` gave this process about the xtask package
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Build scripts that watch one of them (ring's
/// watches `CARGO_MANIFEST_DIR`) would see other values than in a build run from a shell: they
/// would run again, and every crate after them be compiled again, here and in the next build.
fn cargo() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref())
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}

fn workspace_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map_or(xtask_dir.clone(), PathBuf::from)
}
