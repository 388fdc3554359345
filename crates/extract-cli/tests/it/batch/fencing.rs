//! A shard worker paused past its lease (SIGSTOP) while another takes the shard over and
//! finishes it: resumed, the first sends nothing, writes nothing, and exits with the fencing
//! exit code. The same run with fencing turned off (a debug-build test switch) sends
//! duplicates, so the test can fail. On moto's real S3 API and the emulator, over sockets.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::moto::Moto;
use crate::common::{isolated_command as command, keypair_vars, setup_with, text};
use extract_emulator::EmulatorConfig;

const DOCUMENTS: usize = 24;

/// Sends `signal` (such as `STOP`) to `pid` with the shell's own `kill` (a builtin: no
/// procps needed on a fresh machine).
fn signal(pid: u32, signal: &str) {
    let status = Command::new("sh")
        .args(["-c", r#"kill -s "$0" "$1""#, signal, &pid.to_string()])
        .status()
        .expect("sh runs");
    assert!(status.success(), "kill -s {signal} {pid}");
}

/// What one paused-and-resumed worker did.
struct Outcome {
    /// Submissions the emulator received in all, and after the resume.
    submissions: u64,
    after_resume: u64,
    /// Whether the objects under `out/` changed after the resume.
    written_after_resume: bool,
    /// The first worker's exit code and stderr.
    code: Option<i32>,
    stderr: String,
    /// `report --json` once both are done.
    report: serde_json::Value,
    outputs: Vec<String>,
}

async fn pause_past_the_lease(fenced: bool) -> Option<Outcome> {
    let moto = Moto::start().await?;
    // Jobs take 2 s: when A is paused, some of its jobs are in flight.
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(2))).await;
    moto.bucket_of_filings("corpus", "in/", DOCUMENTS).await;
    let mut vars = keypair_vars(&setup);
    vars.extend(moto.vars());
    let cache = tempfile::tempdir().expect("tempdir");
    let worker = |concurrency: &str| {
        command(
            &[
                "run",
                "s3://corpus/in",
                "--out-dir",
                "s3://corpus/out",
                "--shard",
                "0/1",
                "--concurrency",
                concurrency,
                "--lease",
                "6",
                "--wait-lock",
                "--events",
                "jsonl",
            ],
            &vars,
            cache.path(),
        )
    };

    // A: four documents at a time; paused once four of its submissions are recorded.
    let mut a = worker("4");
    if !fenced {
        a.env("KENSHO_EXTRACT_TEST_UNFENCED", "1");
    }
    let mut a = a
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = a.stdout.take().expect("stdout");
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    // Reads A's events to the end (so A never blocks on a full pipe once resumed).
    let reader = std::thread::spawn(move || {
        let mut seen = 0;
        let mut tx = Some(seen_tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains(r#""event":"submitted""#) {
                seen += 1;
                if seen == 4
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), seen_rx)
        .await
        .expect("four submissions within 60 s")
        .expect("A's events");
    signal(a.id(), "STOP");

    // B takes the shard over once A's lease has expired on the store's clock, and finishes it.
    let b = tokio::task::spawn_blocking({
        let mut b = worker("8");
        move || b.output().expect("B runs")
    });
    let b = tokio::time::timeout(Duration::from_secs(120), b)
        .await
        .expect("B finishes within 120 s")
        .expect("joins");
    assert!(
        b.status.success(),
        "B: {}\n{}",
        text(&b.stderr),
        text(&b.stdout)
    );
    let before = moto.objects("corpus", "out/").await;
    let submitted_before = setup.emulator.stats().submissions;

    // A wakes up. Fenced, it ends at once; unfenced, it goes on with the documents it had not
    // sent, and is stopped once it has sent a few of them again.
    signal(a.id(), "CONT");
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if a.try_wait().expect("waits").is_some() {
            break;
        }
        if !fenced && setup.emulator.stats().submissions >= submitted_before + 3 {
            let _ = a.kill();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = a.kill();
    let a = tokio::task::spawn_blocking(move || a.wait_with_output().expect("A ends"))
        .await
        .expect("joins");
    let _ = reader.join();
    let submissions = setup.emulator.stats().submissions;
    let ended_by_itself = started.elapsed() < Duration::from_secs(60);
    assert!(
        ended_by_itself || !fenced,
        "A did not end within 60 s of its resume"
    );
    let written_after_resume = moto.objects("corpus", "out/").await != before;

    let report = command(
        &["report", "s3://corpus/out", "--json"],
        &vars,
        cache.path(),
    )
    .output()
    .expect("runs");
    assert!(report.status.success(), "{}", text(&report.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    let outputs = moto
        .keys("corpus", "out/")
        .await
        .into_iter()
        .filter(|k| !k.starts_with("out/.kensho-extract/"))
        .collect();
    Some(Outcome {
        submissions,
        after_resume: submissions - submitted_before,
        written_after_resume,
        code: a.status.code(),
        stderr: text(&a.stderr),
        report,
        outputs,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_paused_past_its_lease_sends_and_writes_nothing_once_resumed() {
    let Some(outcome) = pause_past_the_lease(true).await else {
        return;
    };
    assert_eq!(
        outcome.code,
        Some(5),
        "A exits with the fencing exit code: {}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("lease") && outcome.stderr.lines().count() <= 3,
        "{}",
        outcome.stderr
    );
    assert_eq!(outcome.after_resume, 0, "A sent nothing once resumed");
    assert!(
        !outcome.written_after_resume,
        "A wrote nothing once resumed"
    );
    // Every document once, plus at most one more for each unknown outcome recorded.
    let unknown = outcome.report["unknown_outcomes"].as_u64().expect("count");
    assert!(
        (DOCUMENTS as u64..=DOCUMENTS as u64 + unknown).contains(&outcome.submissions),
        "{} submissions, {unknown} unknown outcomes",
        outcome.submissions
    );
    let expected: Vec<String> = (0..DOCUMENTS)
        .map(|i| format!("out/filing-{i:02}.json"))
        .collect();
    assert_eq!(outcome.outputs, expected);
    assert_eq!(outcome.report["documents"], DOCUMENTS);
    assert_eq!(outcome.report["states"]["succeeded"], DOCUMENTS);
    assert_eq!(outcome.report["outputs"], DOCUMENTS);
}

/// The same pause with fencing turned off: the resumed worker goes on, and the documents it
/// had not yet sent are sent a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fencing_the_resumed_worker_sends_duplicates() {
    let Some(outcome) = pause_past_the_lease(false).await else {
        return;
    };
    let unknown = outcome.report["unknown_outcomes"].as_u64().expect("count");
    assert!(
        outcome.after_resume > 0 && outcome.submissions > DOCUMENTS as u64 + unknown,
        "{} submissions ({} after the resume), {unknown} unknown outcomes",
        outcome.submissions,
        outcome.after_resume
    );
}
