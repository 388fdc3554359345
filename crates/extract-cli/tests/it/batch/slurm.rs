//! On a real batch scheduler: a Slurm array job (a throwaway single-node cluster that
//! `scripts/slurm-cluster` starts) runs four shards from moto's S3 to moto's S3 with
//! `--shard auto`; one task is killed hard, requeued by Slurm and run again; every document is
//! extracted once, and every task ends with exit 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::moto::Moto;
use crate::common::{isolated_command, keypair_vars, setup_with, text};
use extract_emulator::EmulatorConfig;

const DOCUMENTS: usize = 80;
const TASKS: u32 = 4;

/// A cluster of its own, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts one, or `None` where Slurm is not installed (or this is not root) and this is not
    /// CI, which must run every test: there it panics.
    fn start() -> Option<Cluster> {
        let script = script();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| text(&o.stdout).trim() == "0");
        let installed =
            Path::new("/usr/sbin/slurmctld").exists() && Path::new("/usr/sbin/munged").exists();
        if !(root && installed) {
            assert!(
                std::env::var_os("CI").is_none(),
                "the Slurm test needs root and `apt-get install slurm-wlm munge`"
            );
            eprintln!("skipped: Slurm is not installed or this is not root");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        // Four CPUs whatever the machine has: the four tasks run at once, as on a real node.
        let started = Command::new(&script)
            .args(["start".as_ref(), dir.path().as_os_str()])
            .env("SLURM_CLUSTER_CPUS", TASKS.to_string())
            .output()
            .expect("runs scripts/slurm-cluster");
        assert!(
            started.status.success(),
            "the cluster did not start: {}{}",
            text(&started.stdout),
            text(&started.stderr)
        );
        Some(Cluster { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A Slurm client command of this cluster.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", self.path().join("slurm.conf"));
        command
    }

    /// Runs a client command that must succeed; its stdout.
    fn ok(&self, program: &str, args: &[&str]) -> String {
        let output = self.command(program).args(args).output().expect("runs");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    }

    /// `scontrol show job` of `id`, one line a task (empty once Slurm forgot it).
    fn jobs(&self, id: &str) -> Vec<String> {
        let output: Output = self
            .command("scontrol")
            .args(["show", "job", "-o", id])
            .output()
            .expect("runs");
        text(&output.stdout).lines().map(str::to_string).collect()
    }

    /// What a failed assertion shows: the tasks' results and output, and the tail of the
    /// daemons' logs (the cluster's folder is gone once the test ends).
    fn evidence(&self) -> String {
        let mut shown = String::new();
        let mut files = vec![self.path().join("results")];
        files.extend((0..TASKS).map(|t| self.path().join(format!("task-{t}.out"))));
        files.push(self.path().join("log/slurmd.log"));
        files.push(self.path().join("log/slurmctld.log"));
        for file in files {
            let content = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            shown.push_str(&format!(
                "\n==> {} <==\n{}",
                file.display(),
                tail.join("\n")
            ));
        }
        shown
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["stop".as_ref(), self.path().as_os_str()])
            .output();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm-cluster")
}

/// `Key=value` of one `scontrol show job -o` line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

/// Waits (bounded) until `done` holds, polling every 200 ms.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_array_job_with_a_task_killed_and_requeued_extracts_every_document_once() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let Some(cluster) = Cluster::start() else {
        return;
    };
    // Jobs take 3 s: after a wave of submissions, nothing is being submitted for that long.
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3))).await;
    moto.bucket_of_filings("corpus", "in/", DOCUMENTS).await;
    let mut vars = keypair_vars(&setup);
    vars.extend(moto.vars());
    let cache = tempfile::tempdir().expect("tempdir");

    // The job script: the command as a user writes it, and a line of its exit code. An 8 s
    // lease: with 3 s, the rerun's lease once lapsed in CI before a renewal got through a
    // loaded moto (the worker stopped, exit 5, as it should).
    let results = cluster.path().join("results");
    let job = cluster.path().join("extract.sh");
    std::fs::write(
        &job,
        format!(
            "#!/bin/sh\n\"{}\" run s3://corpus/in --out-dir s3://corpus/out --shard auto --wait-lock --lease 8 --concurrency 5 --events jsonl\ncode=$?\necho \"task $SLURM_ARRAY_TASK_ID restart ${{SLURM_RESTART_COUNT:-0}} exit $code\" >> \"{}\"\nexit $code\n",
            env!("CARGO_BIN_EXE_kensho-extract"),
            results.display()
        ),
    )
    .expect("writes the job script");
    // sbatch hands its environment to the tasks: the emulator's and moto's variables only.
    let mut sbatch = cluster.command("sbatch");
    crate::common::isolate(&mut sbatch, &vars, cache.path());
    let submitted = sbatch
        .args(["--parsable", "--requeue", "--open-mode=append"])
        .arg(format!("--array=0-{}", TASKS - 1))
        .arg(format!("--output={}/task-%a.out", cluster.path().display()))
        .arg(&job)
        .output()
        .expect("runs sbatch");
    assert!(submitted.status.success(), "{}", text(&submitted.stderr));
    let array = text(&submitted.stdout).trim().to_string();
    let task_one = format!("{array}_1");

    // Task 1 is killed once five of its jobs are submitted and recorded, while they run.
    let events = cluster.path().join("task-1.out");
    let submitted_events = || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .matches(r#""event":"submitted""#)
            .count()
    };
    until("task 1 submits five jobs", Duration::from_secs(120), || {
        submitted_events() >= 5
    })
    .await;
    cluster.ok("scancel", &["--signal=KILL", &task_one]);
    until("task 1 ends", Duration::from_secs(60), || {
        cluster
            .jobs(&task_one)
            .first()
            .and_then(|line| field(line, "JobState"))
            .is_some_and(|state| !matches!(state, "RUNNING" | "COMPLETING" | "PENDING"))
    })
    .await;
    let killed_at = submitted_events();
    // Slurm puts it back in the queue, to start about two minutes on; the test lets it start
    // two seconds on. Not at once: slurmd revoked the killed run's credential, and refuses
    // ("Job credential revoked") a credential made in the same second as that revocation (it
    // compares whole seconds), which fails the rerun with exit 1 before its script starts.
    cluster.ok("scontrol", &["requeue", &task_one]);
    cluster.ok(
        "scontrol",
        &["update", &format!("JobId={task_one}"), "StartTime=now+2"],
    );
    until("the array finishes", Duration::from_secs(300), || {
        let lines = cluster.jobs(&array);
        lines.len() == TASKS as usize
            && lines.iter().all(|l| {
                field(l, "JobState")
                    .is_some_and(|s| s != "PENDING" && s != "RUNNING" && s != "COMPLETING")
            })
    })
    .await;

    // Every task ended with exit 0, as Slurm records it; task 1 after one restart.
    let lines = cluster.jobs(&array);
    for line in &lines {
        let ended_well =
            field(line, "JobState") == Some("COMPLETED") && field(line, "ExitCode") == Some("0:0");
        assert!(ended_well, "{line}{}", cluster.evidence());
    }
    let restarts: Vec<&str> = lines
        .iter()
        .filter(|l| field(l, "ArrayTaskId") == Some("1"))
        .filter_map(|l| field(l, "Restarts"))
        .collect();
    assert_eq!(restarts, ["1"], "{lines:?}{}", cluster.evidence());
    let results = std::fs::read_to_string(&results).expect("results");
    // Slurm cancels with SIGTERM first and SIGKILL after its KillWait: the killed run may die
    // of the SIGTERM and its script write a line, never one of success.
    let (killed, mut ended): (Vec<&str>, Vec<&str>) = results
        .lines()
        .partition(|l| l.starts_with("task 1 restart 0 "));
    assert!(
        killed.len() <= 1 && killed.iter().all(|l| !l.ends_with(" exit 0")),
        "the killed run did not end well: {killed:?}"
    );
    ended.sort();
    assert_eq!(
        ended,
        [
            "task 0 restart 0 exit 0",
            "task 1 restart 1 exit 0",
            "task 2 restart 0 exit 0",
            "task 3 restart 0 exit 0"
        ],
        "every task ended well, task 1 on its rerun{}",
        cluster.evidence()
    );
    assert!(killed_at >= 5, "{killed_at}");

    // Exactly the expected outputs.
    let keys = moto.keys("corpus", "out/").await;
    let mut documents: Vec<&String> = keys
        .iter()
        .filter(|k| !k.starts_with("out/.kensho-extract/"))
        .collect();
    documents.sort();
    let expected: Vec<String> = (0..DOCUMENTS)
        .map(|i| format!("out/filing-{i:02}.json"))
        .collect();
    assert_eq!(documents, expected.iter().collect::<Vec<_>>());
    // One report over the four shards; submissions are the documents plus the outcomes the
    // journals say were unknown (a kill between sending and recording).
    let report = isolated_command(
        &["report", "s3://corpus/out", "--json"],
        &vars,
        cache.path(),
    )
    .output()
    .expect("runs");
    assert!(report.status.success(), "{}", text(&report.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(report["shards"], TASKS, "{report}");
    assert_eq!(report["documents"], DOCUMENTS, "{report}");
    assert_eq!(report["states"]["succeeded"], DOCUMENTS, "{report}");
    assert_eq!(report["outputs"], DOCUMENTS, "{report}");
    assert_eq!(report["done"], true, "{report}");
    assert_eq!(report["pace"]["seconds_left"], 0, "{report}");
    let unknown = report["unknown_outcomes"].as_u64().expect("a count");
    assert_eq!(
        setup.emulator.stats().submissions,
        DOCUMENTS as u64 + unknown,
        "{report}"
    );
}
