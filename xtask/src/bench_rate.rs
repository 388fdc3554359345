//! `cargo xtask bench rate`: four `kensho-extract run` processes (four machines sharing one
//! client id, none talking to another), 16 documents in flight each, against an emulator that
//! answers 429 beyond `limit` requests a second. Each process adapts its own rate budget; the
//! bench reads the emulator's counters after the first 10 s and at the end, and prints the
//! share of requests answered 429 and the share of the limit used in between.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::bench::{EmulatorProcess, release_binary};

/// Documents per worker: more than a worker gets through in the measured time.
const DOCUMENTS: usize = 150;
const WORKERS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(10);

/// The emulator's counters of `/v3/` requests: let through, and answered 429.
fn counters(api: &str) -> Result<(u64, u64)> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", &format!("{api}/_emulator/stats")])
        .output()?;
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let read = |name: &str| {
        stats["stats"][name]
            .as_u64()
            .ok_or_else(|| format!("no {name} in the emulator's stats"))
    };
    Ok((read("api_requests")?, read("rate_limited")?))
}

pub fn rate(root: &Path, limit: f64, seconds: u64) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let limit_arg = limit.to_string();
    let emulator = EmulatorProcess::start(
        &binary,
        dir.path(),
        &["--job-seconds", "5", "--rate-limit", &limit_arg],
    )?;
    let pdf = crate::bench_review::pdf(1);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let input = dir.path().join(format!("in-{w}"));
        std::fs::create_dir_all(&input)?;
        for d in 0..DOCUMENTS {
            std::fs::write(input.join(format!("doc-{d}.pdf")), &pdf)?;
        }
        let child = Command::new(&binary)
            .arg("run")
            .arg(&input)
            .arg("--out-dir")
            .arg(dir.path().join(format!("out-{w}")))
            .args(["--concurrency", "16", "--no-cache", "--quiet"])
            .envs(emulator.env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        workers.push(child);
    }
    let started = Instant::now();
    std::thread::sleep(WARM_UP);
    let (ok_before, limited_before) = counters(&emulator.api)?;
    let measured_from = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let (ok_after, limited_after) = counters(&emulator.api)?;
    let window = measured_from.elapsed().as_secs_f64();
    for mut worker in workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    let ok = ok_after - ok_before;
    let limited = limited_after - limited_before;
    let share_429 = limited as f64 / (ok + limited).max(1) as f64;
    let used = ok as f64 / window / limit;
    println!(
        "{WORKERS} workers × 16 in flight, emulator limit {limit} req/s; measured {window:.1} s after the first {} s",
        WARM_UP.as_secs()
    );
    println!(
        "answered {ok}, 429 {limited}: {:.1}% of requests answered 429 (target < 5%)",
        share_429 * 100.0
    );
    println!(
        "{:.1} req/s answered: {:.0}% of the limit used (target ≥ 80%); total {:.0} s",
        ok as f64 / window,
        used * 100.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
