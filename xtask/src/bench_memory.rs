//! `cargo xtask bench memory`: peak memory of `submit` and `run` on large real PDFs (the bulk
//! in streams, the cross-reference table at the end), with preflight on. Memory must stay flat
//! in the file's size: preflight reads the structure, never the whole file, and uploads are
//! streamed. `submit --no-preflight` of the same file runs beside it as the baseline.

use std::path::Path;
use std::process::Command;

use crate::Result;
use crate::bench::{EmulatorProcess, measured, release_binary};

pub fn memory(root: &Path, submit_mb: u64, run_mb: u64, files: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let emulator = EmulatorProcess::start(&binary, dir.path(), &["--job-seconds", "0"])?;
    let env = &emulator.env;

    let one = dir.path().join("submit.pdf");
    crate::bigpdf::write_large_pdf(&one, 40, submit_mb * 1_000_000)?;
    let size = std::fs::metadata(&one)?.len();
    let submit = |preflight: bool| -> Result<u64> {
        let mut command = Command::new(&binary);
        command.arg("submit").arg(&one).envs(env.iter().cloned());
        if !preflight {
            command.arg("--no-preflight");
        }
        Ok(measured(&mut command)?.1)
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        with.push(submit(true)?);
        without.push(submit(false)?);
    }
    let mib = |kib: u64| kib as f64 / 1024.0;
    let (with, without) = (
        with.into_iter().max().unwrap_or(0),
        without.into_iter().max().unwrap_or(0),
    );
    println!(
        "submit of a {:.1} MB PDF (40 pages), 3 runs each: peak RSS {:.1} MiB with preflight, {:.1} MiB without (target: under 20 MiB with it)",
        size as f64 / 1e6,
        mib(with),
        mib(without)
    );
    std::fs::remove_file(&one)?;

    let input = dir.path().join("in");
    std::fs::create_dir_all(&input)?;
    let first = input.join("large-0.pdf");
    crate::bigpdf::write_large_pdf(&first, 200, run_mb * 1_000_000)?;
    for i in 1..files {
        std::fs::hard_link(&first, input.join(format!("large-{i}.pdf")))?;
    }
    let size = std::fs::metadata(&first)?.len();
    let mut run = Command::new(&binary);
    run.arg("run")
        .arg(&input)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .args(["--concurrency", &files.to_string(), "--no-cache", "-q"])
        .envs(env.iter().cloned());
    let (wall, peak) = measured(&mut run)?;
    println!(
        "run over {files} PDFs of {:.1} MB (200 pages each) at --concurrency {files}: peak RSS {:.1} MiB in {:.1} s (target: under 64 MiB)",
        size as f64 / 1e6,
        mib(peak),
        wall.as_secs_f64()
    );
    Ok(())
}
