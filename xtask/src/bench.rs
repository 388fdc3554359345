//! `cargo xtask bench …`: process-level benchmarks, each run side by side with its baseline in
//! the same run (interleaved, so machine noise hits both alike), printing medians and the ratio.
//! The figures go to `docs/benchmarks.md`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Subcommand;

use crate::Result;

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// `kensho-extract keys generate` against `openssl genrsa 2048`, process to process.
    Keygen {
        /// Runs of each command.
        #[arg(long, default_value_t = 41)]
        runs: usize,
    },
}

pub fn run(root: &Path, bench: Bench) -> Result {
    match bench {
        Bench::Keygen { runs } => keygen(root, runs),
    }
}

fn keygen(root: &Path, runs: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let out_dir = dir.path().to_str().ok_or("temp dir is not UTF-8")?;
    let openssl_out = dir.path().join("openssl.pem");
    let openssl_out = openssl_out.to_str().ok_or("temp dir is not UTF-8")?;

    let ours = [
        binary.as_str(),
        "keys",
        "generate",
        "--out-dir",
        out_dir,
        "--force",
    ];
    let theirs = ["openssl", "genrsa", "-out", openssl_out, "2048"];
    let (ours, theirs) = interleave(runs, &ours, &theirs)?;
    report(
        "kensho-extract keys generate (RSA-2048)",
        &ours,
        "openssl genrsa 2048",
        &theirs,
    );
    Ok(())
}

/// Builds `kensho-extract` in release mode and returns its path.
fn release_binary(root: &Path) -> Result<String> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "extract-cli"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        return Err("building kensho-extract failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    Ok(target
        .join("release/kensho-extract")
        .to_string_lossy()
        .into_owned())
}

/// Runs the two commands alternately, `runs` times each, after one warm-up of each.
fn interleave(runs: usize, a: &[&str], b: &[&str]) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let time = |argv: &[&str]| -> Result<Duration> {
        let start = Instant::now();
        let output = Command::new(argv[0]).args(&argv[1..]).output()?;
        let elapsed = start.elapsed();
        if !output.status.success() {
            return Err(format!(
                "{argv:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(elapsed)
    };
    time(a)?;
    time(b)?;
    let (mut ta, mut tb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        ta.push(time(a)?);
        tb.push(time(b)?);
    }
    Ok((ta, tb))
}

fn report(name_a: &str, a: &[Duration], name_b: &str, b: &[Duration]) {
    let stats = |d: &[Duration]| {
        let mut ms: Vec<f64> = d.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        (pick(0.5), pick(0.1), pick(0.9))
    };
    let (ma, a10, a90) = stats(a);
    let (mb, b10, b90) = stats(b);
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "command", "median ms", "p10 ms", "p90 ms"
    );
    println!("{name_a:<44} {ma:>10.1} {a10:>10.1} {a90:>10.1}");
    println!("{name_b:<44} {mb:>10.1} {b10:>10.1} {b90:>10.1}");
    println!(
        "ratio of medians (ours / baseline): {:.2} over {} runs each",
        ma / mb,
        a.len()
    );
}
