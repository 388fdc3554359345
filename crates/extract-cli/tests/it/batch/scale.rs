//! Beyond one machine: shards of one batch from S3 to S3 (moto's real S3 API on loopback), one
//! worker killed midway and restarted, every document extracted once.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::common::moto::Moto;
use crate::common::{isolated_command as command, keypair_vars, setup_with, text};
use extract_emulator::EmulatorConfig;

const DOCUMENTS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_from_s3_to_s3_with_one_killed_and_restarted() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    // Jobs take 3 s: after a wave of submissions, nothing is being submitted for that long.
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3))).await;
    moto.bucket_of_filings("corpus", "in/", DOCUMENTS).await;
    // Not a PDF: not an input.
    moto.put("corpus", "in/notes.txt", b"notes".to_vec()).await;
    let mut vars = keypair_vars(&setup);
    vars.extend(moto.vars());
    let cache = tempfile::tempdir().expect("tempdir");
    let shard = |index: u32| {
        let spec = format!("{index}/3");
        command(
            &[
                "run",
                "s3://corpus/in",
                "--out-dir",
                "s3://corpus/out",
                "--shard",
                &spec,
                "--concurrency",
                "5",
                "--events",
                "jsonl",
                // Long enough for a renewal to get through a loaded moto (with 3 s, one
                // late renewal stopped a worker once in CI), short enough to wait out.
                "--lease",
                "8",
            ],
            &vars,
            cache.path(),
        )
    };

    // A dry run of shard 1: its inputs and bytes from the listing, nothing sent or written.
    let dry = |done: bool| {
        let output = command(
            &[
                "run",
                "s3://corpus/in",
                "--out-dir",
                "s3://corpus/out",
                "--shard",
                "1/3",
                "--dry-run",
                "--json",
            ],
            &vars,
            cache.path(),
        )
        .output()
        .expect("runs");
        assert!(output.status.success(), "{}", text(&output.stderr));
        let plan: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let documents = plan["documents"].as_array().expect("documents").len();
        let (send, already) = (plan["send"].as_u64(), plan["already_done"].as_u64());
        if done {
            assert_eq!((send, already), (Some(0), Some(documents as u64)), "{plan}");
        } else {
            assert_eq!((send, already), (Some(documents as u64), Some(0)), "{plan}");
            assert!(plan["bytes"].as_u64().is_some_and(|b| b > 0));
        }
        documents
    };
    let shard_one = dry(false);
    assert!((10..=30).contains(&shard_one), "{shard_one}");
    let stats = setup.emulator.stats();
    assert_eq!((stats.token_exchanges, stats.submissions), (0, 0));
    assert!(
        moto.keys("corpus", "out/").await.is_empty(),
        "a dry run writes nothing"
    );

    // Shard 1 is killed once its first five jobs are submitted and recorded, while they run.
    let mut first = shard(1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stdout = first.stdout.take().expect("stdout");
    let submitted = tokio::task::spawn_blocking(move || {
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if line.contains(r#""event":"submitted""#) {
                seen += 1;
                if seen == 5 {
                    break;
                }
            }
        }
        seen
    });
    let seen = tokio::time::timeout(Duration::from_secs(60), submitted)
        .await
        .expect("five submissions within 60 s")
        .expect("joins");
    first.kill().expect("kills");
    let killed = first.wait_with_output().expect("waits");
    assert!(!killed.status.success(), "{}", text(&killed.stderr));
    assert_eq!(seen, 5);
    assert_eq!(setup.emulator.stats().submissions, 5);
    // It left its journal in the store: segments, no compaction.
    let left = moto
        .keys("corpus", "out/.kensho-extract/shard-1-of-3/journal/")
        .await;
    assert!(!left.is_empty(), "segments were written before the kill");

    // Its lease outlives it by up to a term (8 s here): a replacement started at once is
    // refused, or waits with --wait-lock.
    let refused = shard(1).output().expect("runs");
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("claimed by another worker"),
        "{}",
        text(&refused.stderr)
    );
    // All three shards now, shard 1 restarted.
    let runs = (0..3).map(|index| {
        let mut command = shard(index);
        command.arg("--wait-lock");
        tokio::task::spawn_blocking(move || command.output().expect("runs"))
    });
    let outputs = futures_util::future::join_all(runs).await;
    for (index, output) in outputs.into_iter().enumerate() {
        let output = output.expect("joins");
        assert!(
            output.status.success(),
            "shard {index}: {}\n{}",
            text(&output.stderr),
            text(&output.stdout)
        );
    }

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
    let stats = setup.emulator.stats();
    assert_eq!(
        stats.submissions, DOCUMENTS as u64,
        "every document submitted once, the killed shard's five resumed, not sent again"
    );
    let one = moto
        .get("corpus", "out/filing-07.json")
        .await
        .expect("output");
    assert!(text(&one).contains("Filing 7"));
    // Each shard compacted its journal at the end: a snapshot, no segment.
    let segments = moto
        .keys("corpus", "out/.kensho-extract/shard-1-of-3/journal/")
        .await;
    assert!(segments.is_empty(), "{segments:?}");

    // One report over the three shards.
    let report = command(
        &["report", "s3://corpus/out", "--json"],
        &vars,
        cache.path(),
    )
    .output()
    .expect("runs");
    assert!(report.status.success(), "{}", text(&report.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(report["shards"], 3);
    assert_eq!(report["documents"], DOCUMENTS);
    assert_eq!(report["states"]["succeeded"], DOCUMENTS);
    assert_eq!(report["unknown_outcomes"], 0);
    assert_eq!(report["outputs"], DOCUMENTS);
    assert_eq!(report["pages"], DOCUMENTS, "one page each");
    let per_shard: u64 = (0..3)
        .map(|i| {
            let counts = &report["by_shard"][format!("shard-{i}-of-3")];
            assert_eq!(counts["succeeded"], counts["documents"]);
            counts["documents"].as_u64().expect("a count")
        })
        .sum();
    assert_eq!(per_shard, DOCUMENTS as u64);

    // Shard 1 again, dry: everything done.
    assert_eq!(dry(true), shard_one);

    // An object kensho-extract did not write is never replaced: the put is conditional.
    let pdf = extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
        heading: "X".into(),
        paragraphs: vec!["Text.".into()],
    }]);
    moto.put("corpus", "in2/x.pdf", pdf).await;
    moto.put("corpus", "out2/x.json", b"theirs".to_vec()).await;
    let into_out2 = |extra: &[&str]| {
        let mut args = vec!["run", "s3://corpus/in2", "--out-dir", "s3://corpus/out2"];
        args.extend(extra);
        command(&args, &vars, cache.path()).output().expect("runs")
    };
    let refused = into_out2(&[]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("no batch run wrote")
            && text(&refused.stderr).contains("--overwrite"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        moto.get("corpus", "out2/x.json").await.as_deref(),
        Some(&b"theirs"[..])
    );
    let replaced = into_out2(&["--overwrite"]);
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));
    let ours = moto.get("corpus", "out2/x.json").await.expect("output");
    assert!(serde_json::from_slice::<serde_json::Value>(&ours).is_ok());
}

#[tokio::test]
async fn local_shards_then_one_report() {
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(50))).await;
    let vars = keypair_vars(&setup);
    let vars = crate::common::as_refs(&vars);
    let input = setup.dir.path().join("in");
    crate::common::pdfs(&input.join("q1"), 5);
    crate::common::pdfs(&input.join("q2"), 5);
    let out = setup.dir.path().join("out");
    let (input, out) = (input.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let refused =
        crate::common::run(&["run", input, "--out-dir", out, "--shard", "2/2"], &vars).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("0 to 1"),
        "{}",
        text(&refused.stderr)
    );
    for shard in ["0/2", "1/2"] {
        // Same content in both folders: without the cache, each is sent.
        let done = crate::common::run(
            &[
                "run",
                input,
                "--out-dir",
                out,
                "--shard",
                shard,
                "-q",
                "--no-cache",
            ],
            &vars,
        )
        .await;
        assert!(done.status.success(), "{}", text(&done.stderr));
    }
    assert_eq!(setup.emulator.stats().submissions, 10);
    // Same file names in two folders: two outputs, under their folders' names.
    for quarter in ["q1", "q2"] {
        for i in 0..5 {
            let path = format!("{out}/{quarter}/report-{i}.json");
            assert!(std::path::Path::new(&path).is_file(), "{path}");
        }
    }
    // A dry run of each shard after the fact: every input done, nothing to send. (Inputs fall
    // into shards by a hash of their paths, which are temporary: one shard may hold all ten.)
    let mut done = 0;
    for shard in ["0/2", "1/2"] {
        let dry = crate::common::run(
            &[
                "run",
                input,
                "--out-dir",
                out,
                "--shard",
                shard,
                "--dry-run",
                "--json",
            ],
            &vars,
        )
        .await;
        assert!(dry.status.success(), "{}", text(&dry.stderr));
        let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("JSON");
        assert_eq!(plan["send"], 0, "{plan}");
        assert_eq!(plan["shard"], shard);
        done += plan["already_done"].as_u64().expect("a count");
    }
    assert_eq!(done, 10);
    let report = crate::common::run(&["report", out, "--json"], &vars).await;
    assert!(report.status.success(), "{}", text(&report.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(
        (report["shards"].as_u64(), report["documents"].as_u64()),
        (Some(2), Some(10))
    );
    assert_eq!(report["states"]["succeeded"], 10);
    let text_report = crate::common::run(&["report", out], &vars).await;
    assert!(
        text(&text_report.stdout).starts_with("10 document(s) in 2 shard(s): 10 succeeded"),
        "{}",
        text(&text_report.stdout)
    );
    assert!(
        text(&text_report.stdout).contains("  shard-1-of-2: "),
        "{}",
        text(&text_report.stdout)
    );
    let nothing = crate::common::run(&["report", input], &vars).await;
    assert!(!nothing.status.success());
    assert!(
        text(&nothing.stderr).contains("no manifest here"),
        "{}",
        text(&nothing.stderr)
    );
}

/// Keys from a store are input: odd keys (`in//x.pdf`, a tab) are each
/// skipped with one warning and never stop the run; names with `%`, accents or CJK are written
/// under exactly the key that events name (checked with a HEAD); credentials in a store URL
/// are printed nowhere and recorded nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_keys_and_names_from_s3() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(20))).await;
    moto.create_bucket("corpus").await;
    let pdf = |heading: &str| {
        extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
            heading: heading.into(),
            paragraphs: vec!["Text.".into()],
        }])
    };
    let names = ["Société Générale", "a%20b", "報告書", "plain"];
    for name in names {
        moto.put_raw("corpus", &format!("in/{name}.pdf"), pdf(name))
            .await;
    }
    // (moto normalises `in/./y.pdf` and `in/../z.pdf` as it stores them: the listing unit
    // tests meet those.)
    for odd in ["in//x.pdf", "in/tab\there.pdf"] {
        moto.put_raw("corpus", odd, pdf("odd")).await;
    }
    let mut vars = keypair_vars(&setup);
    vars.extend(moto.vars());
    let cache = tempfile::tempdir().expect("tempdir");
    let secret = "s3://AKIAEXAMPLE:hunter2secret@corpus/out";
    let output = command(
        &[
            "run",
            "s3://corpus/in",
            "--out-dir",
            secret,
            "--events",
            "jsonl",
        ],
        &vars,
        cache.path(),
    )
    .output()
    .expect("runs");
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains("hunter2secret"), "{shown}");
        assert!(!shown.contains("AKIAEXAMPLE"), "{shown}");
    }
    // Each odd key: one warning, escaped.
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(stderr.contains("tab\\there.pdf"), "{stderr}");
    assert!(!stderr.contains('\t'), "{stderr}");
    // Every output an event names is in the store under exactly that key.
    let written: Vec<String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "written")
        .map(|e| e["path"].as_str().expect("a path").to_string())
        .collect();
    assert_eq!(written.len(), names.len(), "{stdout}");
    for name in names {
        let url = format!("s3://***@corpus/out/{name}.json");
        assert!(written.contains(&url), "{url} not in {written:?}");
        assert!(
            moto.exists("corpus", &format!("out/{name}.json")).await,
            "out/{name}.json"
        );
    }
    // Nothing was written under a second encoding, and the manifest holds no credential.
    let keys = moto.keys("corpus", "out/").await;
    assert!(
        !keys.iter().any(|k| k.contains("%25") || k.contains("%C3")),
        "{keys:?}"
    );
    let manifests: Vec<&String> = keys.iter().filter(|k| k.contains("manifest")).collect();
    assert!(!manifests.is_empty(), "{keys:?}");
    for key in manifests {
        let body = moto.get("corpus", key).await.expect("manifest");
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains("hunter2secret") && !body.contains("AKIA"),
            "{body}"
        );
    }
    // `report` over the same folder names the same keys, without the credentials.
    let report = command(&["report", secret, "--json"], &vars, cache.path())
        .output()
        .expect("runs");
    let shown = text(&report.stdout) + &text(&report.stderr);
    assert!(report.status.success(), "{shown}");
    assert!(!shown.contains("hunter2secret"), "{shown}");
}

/// `--shard auto` reads the shard from each scheduler's variables, says which it found, and
/// refuses with one line (exit 2) when none is there or the values disagree.
#[tokio::test]
async fn shard_auto_reads_the_scheduler() {
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(50))).await;
    let vars = keypair_vars(&setup);
    let input = setup.dir.path().join("in");
    crate::common::pdfs(&input, 6);
    let out = setup.dir.path().join("out");
    let (input, out) = (input.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = vars.clone();
        all.extend(extra.iter().map(|(n, v)| (*n, (*v).to_string())));
        all
    };
    // Two Slurm array tasks (`--array=3-4`) run the batch between them.
    for (id, shard) in [("3", "0/2"), ("4", "1/2")] {
        let task = with(&[
            ("SLURM_ARRAY_JOB_ID", "17"),
            ("SLURM_ARRAY_TASK_ID", id),
            ("SLURM_ARRAY_TASK_MIN", "3"),
            ("SLURM_ARRAY_TASK_MAX", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ]);
        let done = crate::common::run(
            &["run", input, "--out-dir", out, "--shard", "auto"],
            &crate::common::as_refs(&task),
        )
        .await;
        assert!(done.status.success(), "{}", text(&done.stderr));
        let said = format!("shard {shard} from Slurm (SLURM_ARRAY_TASK_ID={id}, ");
        assert!(text(&done.stderr).contains(&said), "{}", text(&done.stderr));
    }
    assert_eq!(setup.emulator.stats().submissions, 6);
    for i in 0..6 {
        assert!(std::path::Path::new(&format!("{out}/report-{i}.json")).is_file());
    }
    let report =
        crate::common::run(&["report", out, "--json"], &crate::common::as_refs(&vars)).await;
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(
        (
            report["shards"].as_u64(),
            report["states"]["succeeded"].as_u64()
        ),
        (Some(2), Some(6)),
        "{report}"
    );
    // A Kubernetes Indexed Job's pod and an AWS Batch child: the plan names their shard.
    for (extra, shard) in [
        (
            &[("JOB_COMPLETION_INDEX", "2"), ("KENSHO_SHARD_COUNT", "3")][..],
            "2/3",
        ),
        (
            &[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "4"),
            ][..],
            "1/4",
        ),
    ] {
        let dry = crate::common::run(
            &[
                "run",
                input,
                "--out-dir",
                out,
                "--shard",
                "auto",
                "--dry-run",
                "--json",
            ],
            &crate::common::as_refs(&with(extra)),
        )
        .await;
        assert!(dry.status.success(), "{}", text(&dry.stderr));
        let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("JSON");
        assert_eq!(plan["shard"], shard, "{plan}");
    }
    // None found, and values that disagree: one line, exit 2, nothing sent.
    for (extra, says) in [
        (&[][..], "no batch scheduler found"),
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("KENSHO_SHARD_COUNT", "3"),
            ][..],
            "SLURM_ARRAY_TASK_COUNT is 4 but KENSHO_SHARD_COUNT is 3",
        ),
    ] {
        let refused = crate::common::run(
            &["run", input, "--out-dir", out, "--shard", "auto"],
            &crate::common::as_refs(&with(extra)),
        )
        .await;
        let stderr = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with("error: --shard auto: ") && stderr.contains(says),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    assert_eq!(setup.emulator.stats().submissions, 6);
}

/// `report --watch` refreshes until every shard is done: a shard not started yet keeps it
/// going; it ends by itself, exit 0, once the last one finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_watch_follows_the_shards_until_all_are_done() {
    let setup =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(50))).await;
    let vars = keypair_vars(&setup);
    let input = setup.dir.path().join("in");
    crate::common::pdfs(&input, 6);
    let out = setup.dir.path().join("out");
    let (input, out) = (input.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let cache = tempfile::tempdir().expect("tempdir");
    let shard = |spec: &str| {
        command(
            &["run", input, "--out-dir", out, "--shard", spec, "-q"],
            &vars,
            cache.path(),
        )
        .output()
        .expect("runs")
    };
    assert!(shard("0/2").status.success());
    let mut watch = command(
        &["report", out, "--watch", "1", "--json"],
        &vars,
        cache.path(),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("starts");
    let stdout = watch.stdout.take().expect("stdout");
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let first = lines.next();
        let _ = first_tx.send(first.clone());
        first.into_iter().chain(lines).collect::<Vec<String>>()
    });
    let first = tokio::time::timeout(Duration::from_secs(30), first_rx)
        .await
        .expect("a first report within 30 s")
        .expect("sent")
        .expect("a line");
    let first: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(first["done"], false, "{first}");
    assert_eq!(first["missing_shards"], serde_json::json!(["shard-1-of-2"]));
    assert_eq!(first["pace"]["seconds_left"], serde_json::Value::Null);
    assert!(
        first["pace"]["documents_per_minute"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{first}"
    );
    assert!(shard("1/2").status.success());
    let lines = tokio::time::timeout(Duration::from_secs(30), lines)
        .await
        .expect("the watch ends within 30 s of the last shard")
        .expect("joins");
    let status = watch.wait().expect("waits");
    assert!(status.success());
    let last: serde_json::Value =
        serde_json::from_str(lines.last().expect("a last report")).expect("JSON");
    assert_eq!(last["done"], true, "{last}");
    assert_eq!(last["documents"], 6, "{last}");
    assert_eq!(last["pace"]["seconds_left"], 0, "{last}");
}
