//! `cargo xtask bench polls`: a batch of similar documents on the emulator (5 s jobs), polled
//! by the standard policy alone and by the policy that learns the batch's pace, one run after
//! the other: polls per job and how late each finish is noticed, from the `--events` stream.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::Result;
use crate::bench::{EmulatorProcess, release_binary};

const JOB_SECONDS: f64 = 5.0;

/// Per job: polls, and milliseconds from the job's end to its `succeeded` event.
fn batch(
    binary: &str,
    env: &[(String, String)],
    input: &Path,
    out: &Path,
    fixed: bool,
) -> Result<Vec<(u64, f64)>> {
    let mut command = Command::new(binary);
    command
        .arg("run")
        .arg(input)
        .arg("--out-dir")
        .arg(out)
        .args(["--concurrency", "8", "--no-cache", "--events", "jsonl"])
        .envs(env.iter().cloned());
    if fixed {
        command.arg("--fixed-polls");
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!("run failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let mut submitted: HashMap<String, u64> = HashMap::new();
    let mut polls: HashMap<String, u64> = HashMap::new();
    let mut jobs = Vec::new();
    for line in String::from_utf8(output.stdout)?.lines() {
        let event: serde_json::Value = serde_json::from_str(line)?;
        let input = event["input"].as_str().unwrap_or_default().to_string();
        let time = event["time"].as_u64().unwrap_or_default();
        match event["event"].as_str() {
            Some("submitted") => {
                submitted.insert(input, time);
            }
            Some("polled") => *polls.entry(input).or_default() += 1,
            Some("succeeded") => {
                let start = submitted.get(&input).copied().unwrap_or(time);
                // The poll that found it done is not an event of its own.
                let count = polls.get(&input).copied().unwrap_or(0) + 1;
                let late = (time - start) as f64 - JOB_SECONDS * 1000.0;
                jobs.push((count, late));
            }
            _ => {}
        }
    }
    Ok(jobs)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn report(name: &str, jobs: &[(u64, f64)]) {
    let polls: Vec<f64> = jobs.iter().map(|(p, _)| *p as f64).collect();
    let late: Vec<f64> = jobs.iter().map(|(_, l)| *l).collect();
    let worst = late.iter().copied().fold(f64::MIN, f64::max);
    println!(
        "{name:<34} {} jobs: median {:.0} polls (total {:.0}), noticed median {:.0} ms late, worst {:.0} ms",
        jobs.len(),
        median(polls.clone()),
        polls.iter().sum::<f64>(),
        median(late),
        worst
    );
}

pub fn polls(root: &Path, documents: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let emulator = EmulatorProcess::start(&binary, dir.path(), &["--job-seconds", "5"])?;
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input)?;
    let pdf = crate::bench_review::pdf(1);
    for d in 0..documents {
        std::fs::write(input.join(format!("doc-{d}.pdf")), &pdf)?;
    }
    println!("{documents} one-page documents, 5 s jobs, 8 in flight");
    let fixed = batch(
        &binary,
        &emulator.env,
        &input,
        &dir.path().join("fixed"),
        true,
    )?;
    report("standard policy (today)", &fixed);
    let learnt = batch(
        &binary,
        &emulator.env,
        &input,
        &dir.path().join("learnt"),
        false,
    )?;
    report("learning the batch's pace", &learnt);
    Ok(())
}
