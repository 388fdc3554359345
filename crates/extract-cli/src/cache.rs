//! `kensho-extract cache stats|clear|path`, and where the output cache lives.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use extract_batch::OutputCache;

use crate::Failure;

/// The environment variable that puts the cache elsewhere (a shared disk, a test's folder).
pub const CACHE_DIR_ENV: &str = "KENSHO_EXTRACT_CACHE_DIR";

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// How many output documents the cache holds, and their size.
    Stats {
        /// One JSON object: `path`, `entries`, `bytes`.
        #[arg(long)]
        json: bool,
    },
    /// Delete every cached output document (outputs written to folders stay).
    Clear,
    /// Print the cache's folder.
    Path,
}

/// `$KENSHO_EXTRACT_CACHE_DIR`, else the user's cache directory (`~/.cache/kensho-extract/outputs`
/// on Linux).
pub fn dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "kensho-extract")
        .map(|dirs| dirs.cache_dir().join("outputs"))
        .ok_or_else(|| {
            format!(
                "no cache directory is known for this user: set {CACHE_DIR_ENV}, or pass --no-cache"
            )
            .into()
        })
}

pub fn run(command: CacheCommand) -> Result<(), Failure> {
    let cache = OutputCache::new(dir()?);
    let mut out = std::io::stdout().lock();
    match command {
        CacheCommand::Path => writeln!(out, "{}", cache.dir().display())?,
        CacheCommand::Stats { json } => {
            let stats = cache
                .stats()
                .map_err(|e| format!("cannot read the cache at {}: {e}", cache.dir().display()))?;
            if json {
                let document = serde_json::json!({
                    "path": cache.dir().display().to_string(),
                    "entries": stats.entries,
                    "bytes": stats.bytes,
                });
                writeln!(out, "{document}")?;
            } else {
                writeln!(
                    out,
                    "{} output document(s), {} bytes, in {}",
                    stats.entries,
                    stats.bytes,
                    cache.dir().display()
                )?;
            }
        }
        CacheCommand::Clear => {
            let cleared = cache
                .clear()
                .map_err(|e| format!("cannot clear the cache at {}: {e}", cache.dir().display()))?;
            writeln!(
                out,
                "deleted {} output document(s), {} bytes, from {}",
                cleared.entries,
                cleared.bytes,
                cache.dir().display()
            )?;
        }
    }
    Ok(())
}
