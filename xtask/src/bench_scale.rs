//! `cargo xtask bench scale`: the cost of a batch as it grows. Batches of short jobs on the
//! emulator, a small and a 4× larger one side by side in one run: wall time, CPU time, peak
//! resident memory and journal bytes of the `kensho-extract run` process, and the ratios; then
//! one large batch for peak memory alone.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::bench::{EmulatorProcess, release_binary, watch};

/// One batch's costs.
struct Cost {
    wall: Duration,
    cpu: f64,
    peak_kib: u64,
    journal_bytes: u64,
    journal_records: u64,
    journal_commits: u64,
    succeeded: u64,
}

/// `documents` files (hard links to one PDF, 1,000 a folder) under `dir`.
fn corpus(dir: &Path, documents: usize) -> Result {
    let pdf = crate::bench_review::pdf(1);
    let first = dir.join("first.pdf");
    std::fs::create_dir_all(dir)?;
    std::fs::write(&first, pdf)?;
    for d in 0..documents {
        let folder = dir.join(format!("part-{:03}", d / 1000));
        std::fs::create_dir_all(&folder)?;
        std::fs::hard_link(&first, folder.join(format!("doc-{d:06}.pdf")))?;
    }
    std::fs::remove_file(first)?;
    Ok(())
}

/// Runs one batch to its end, watching the process's CPU time and peak memory.
fn batch(binary: &str, env: &[(String, String)], input: &Path, out: &Path) -> Result<Cost> {
    let summary = tempfile::NamedTempFile::new()?;
    let start = Instant::now();
    let mut child = Command::new(binary)
        .arg("run")
        .arg(input)
        .arg("--out-dir")
        .arg(out)
        .args([
            "--concurrency",
            "64",
            "--no-cache",
            "--no-preflight",
            "--json",
            "-q",
        ])
        .envs(env.iter().cloned())
        .stdout(summary.reopen()?)
        .stderr(Stdio::piped())
        .spawn()?;
    let watched = watch(&mut child, start, "run")?;
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(summary.path())?)?;
    Ok(Cost {
        wall: watched.wall,
        cpu: watched.cpu,
        peak_kib: watched.peak_kib,
        journal_bytes: summary["journal_bytes"].as_u64().unwrap_or(0),
        journal_records: summary["journal_records"].as_u64().unwrap_or(0),
        journal_commits: summary["journal_commits"].as_u64().unwrap_or(0),
        succeeded: summary["succeeded"].as_u64().unwrap_or(0),
    })
}

fn show(documents: usize, cost: &Cost) {
    println!(
        "{documents:>6} documents: {:>6.1} s wall, {:>6.1} s CPU, peak RSS {:>6.1} MB, journal {:>9} bytes ({:.0} a document), {:.1} records per fsync, {} succeeded",
        cost.wall.as_secs_f64(),
        cost.cpu,
        cost.peak_kib as f64 / 1024.0,
        cost.journal_bytes,
        cost.journal_bytes as f64 / documents as f64,
        cost.journal_records as f64 / cost.journal_commits.max(1) as f64,
        cost.succeeded
    );
}

pub fn scale(root: &Path, small: usize, memory: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let emulator = EmulatorProcess::start(&binary, dir.path(), &["--job-seconds", "0"])?;
    let large = small * 4;
    println!("one-page documents, 0 s jobs, 64 in flight; {small} and {large} side by side");
    let mut costs = Vec::new();
    for documents in [small, large] {
        let input = dir.path().join(format!("in-{documents}"));
        corpus(&input, documents)?;
        let cost = batch(
            &binary,
            &emulator.env,
            &input,
            &dir.path().join(format!("out-{documents}")),
        )?;
        show(documents, &cost);
        if cost.succeeded != documents as u64 {
            return Err(format!("{} of {documents} succeeded", cost.succeeded).into());
        }
        std::fs::remove_dir_all(&input)?;
        costs.push(cost);
    }
    println!(
        "ratios, {large} / {small} (linear is 4.0; the target is at most 5): journal bytes {:.2}, CPU {:.2}, wall {:.2}, peak RSS {:.2}",
        costs[1].journal_bytes as f64 / costs[0].journal_bytes as f64,
        costs[1].cpu / costs[0].cpu,
        costs[1].wall.as_secs_f64() / costs[0].wall.as_secs_f64(),
        costs[1].peak_kib as f64 / costs[0].peak_kib as f64,
    );
    if memory > 0 {
        let input = dir.path().join("in-memory");
        corpus(&input, memory)?;
        let cost = batch(
            &binary,
            &emulator.env,
            &input,
            &dir.path().join("out-memory"),
        )?;
        show(memory, &cost);
        println!(
            "peak RSS at {memory} documents: {:.1} MB (target: under 200 MB)",
            cost.peak_kib as f64 / 1024.0
        );
    }
    Ok(())
}
