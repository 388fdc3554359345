//! `kensho-extract demo`, `run`, `wait` and `convert` as a user runs them.

use std::time::Duration;

use crate::common::*;
use extract_emulator::EmulatorConfig;

#[tokio::test(flavor = "multi_thread")]
async fn demo_runs_the_whole_flow_offline() {
    let out = run(&["demo", "--job-seconds", "0.2"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("# Kensho Extract Demo\n"), "{stdout}");
    assert!(stdout.contains("# What Happened Next"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Summary: 1 token exchange(s), 1 submission(s)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_extracts_a_folder_writes_markdown_and_resumes() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(100))).await;
    let inputs = s.dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    pdfs(&inputs, 3);
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let args = [
        "run",
        &inputs.to_string_lossy(),
        "--out-dir",
        &out_dir.to_string_lossy(),
        "--format",
        "markdown",
        "--concurrency",
        "2",
    ];
    let out = run(&args, &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for i in 0..3 {
        let markdown =
            std::fs::read_to_string(out_dir.join(format!("report-{i}.md"))).expect("markdown");
        assert_eq!(markdown, format!("# Report {i}\nParagraph of report {i}."));
        assert!(out_dir.join(format!("report-{i}.json")).exists());
    }
    assert!(
        text(&out.stderr).contains("3 succeeded"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(s.emulator.stats().submissions, 3);

    let again = run(&args, &as_refs(&vars)).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stderr).contains("3 already done"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(s.emulator.stats().submissions, 3, "nothing submitted twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_exit_codes_say_failed_3_and_deadline_4() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let inputs = s.dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    pdfs(&inputs, 1);
    let vars = keypair_vars(&s);
    let out_dir = s.dir.path().join("out");
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
            "--timeout",
            "2",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let id = s
        .emulator
        .stats()
        .polls
        .keys()
        .next()
        .cloned()
        .expect("a polled job");
    assert!(
        stderr.contains(&format!("kensho-extract wait ID` for: {id}")),
        "the request id is printed: {stderr}"
    );

    let broken = s.dir.path().join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    std::fs::write(broken.join("broken.pdf"), "%PDF-1.4 and nothing").expect("writes");
    let fast = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let vars = keypair_vars(&fast);
    let out = run(
        &[
            "run",
            &broken.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
            "--no-preflight",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_finds_the_mode_and_writes_the_output() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_millis(300))).await;
    pdfs(s.dir.path(), 1);
    let pdf = s
        .dir
        .path()
        .join("report-0.pdf")
        .to_string_lossy()
        .into_owned();
    let vars = keypair_vars(&s);
    for extra in [&[][..], &["--output-format", "structured_document"][..]] {
        let mut args = vec!["submit", pdf.as_str()];
        args.extend_from_slice(extra);
        let id = text(&run(&args, &as_refs(&vars)).await.stdout)
            .trim()
            .to_string();
        let target = s.dir.path().join(format!("{id}.json"));
        let out = run(
            &["wait", &id, "-o", &target.to_string_lossy()],
            &as_refs(&vars),
        )
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&target).expect("written")).expect("json");
        assert_eq!(
            document["content_tree"]["children"][0]["content"],
            "Report 0"
        );
    }
}

#[test]
fn convert_turns_each_fixture_into_every_target() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/extract-output");
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = env!("CARGO_BIN_EXE_kensho-extract");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        for target in ["markdown", "text", "pages", "items", "sections", "visual"] {
            let out = std::process::Command::new(binary)
                .args(["convert"])
                .arg(&path)
                .args(["--to", target])
                .output()
                .expect("runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{} {target}: {}",
                path.display(),
                text(&out.stderr)
            );
            if matches!(target, "pages" | "items" | "sections") {
                serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON");
            }
        }
        let csv_dir = dir.path().join(path.file_stem().expect("stem"));
        let out = std::process::Command::new(binary)
            .args(["convert"])
            .arg(&path)
            .args(["--to", "tables-csv", "-o"])
            .arg(&csv_dir)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let csv = std::fs::read_to_string(dir.path().join("extract_output/6.csv"))
        .expect("table 6 of extract_output.json");
    assert!(csv.starts_with("Kensho Revenue in millions $,"), "{csv}");
    assert!(csv.ends_with("\r\n"));

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"not\": \"an output\"}").expect("writes");
    let out = std::process::Command::new(binary)
        .args(["convert"])
        .arg(&garbage)
        .args(["--to", "text"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not an Extract output document"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_run_cleanly_and_says_how_to_resume() {
    let s =
        setup_with(EmulatorConfig::default().with_job_duration(Duration::from_secs(3600))).await;
    let inputs = s.dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    pdfs(&inputs, 2);
    let out_dir = s.dir.path().join("out");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kensho-extract"));
    command.args([
        "run",
        &inputs.to_string_lossy(),
        "--out-dir",
        &out_dir.to_string_lossy(),
    ]);
    for (name, value) in keypair_vars(&s) {
        command.env(name, value);
    }
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Once both jobs are submitted and being polled, interrupt as a person would.
    while s.emulator.stats().polls.len() < 2 {
        tokio::task::yield_now().await;
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(interrupted.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("waits"))
        .await
        .expect("joins");
    assert_eq!(out.status.code(), Some(130));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("run the same command again to resume"),
        "{stderr}"
    );
    let manifest = extract_batch::Manifest::load(&out_dir).expect("manifest");
    assert_eq!(
        manifest
            .documents
            .values()
            .filter(|e| e.request_id.is_some())
            .count(),
        2,
        "both jobs recorded"
    );
}

#[test]
fn convert_keeps_every_table_file_inside_the_chosen_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = env!("CARGO_BIN_EXE_kensho-extract");
    // Tables whose uids try to leave the folder, and two tables sharing one uid.
    let table = |uid: &str, cell: &str, text: &str| {
        serde_json::json!({"uid": uid, "type": "TABLE", "content": null, "children": [
            {"uid": cell, "type": "TABLE_CELL", "content": text, "children": []}]})
    };
    let cell = |uid: &str| serde_json::json!({"type": "table_structure", "content_uids": [uid], "data": {"index": [0, 0], "span": [1, 1]}});
    let document = serde_json::json!({
        "content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
            table("../../escaped", "c1", "one"),
            table("/tmp/absolute", "c2", "two"),
            table("same", "c3", "three"),
            table("same", "c4", "four"),
        ]},
        "annotations": [cell("c1"), cell("c2"), cell("c3"), cell("c4")],
    });
    let input = dir.path().join("hostile.json");
    std::fs::write(&input, serde_json::to_vec(&document).expect("json")).expect("writes");
    let out_dir = dir.path().join("a/b/out");
    let out = std::process::Command::new(binary)
        .arg("convert")
        .arg(&input)
        .args(["--to", "tables-csv", "-o"])
        .arg(&out_dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "___.._escaped.csv",
            "_tmp_absolute.csv",
            "same-2.csv",
            "same.csv"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("same-2.csv")).expect("reads"),
        "four\r\n"
    );
    // Nothing was written above the folder.
    assert!(!dir.path().join("a/escaped.csv").exists());
    assert!(!dir.path().join("escaped.csv").exists());
}

#[test]
fn convert_warns_about_impossible_values_and_still_converts() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../extract-convert/tests/hostile");
    let binary = env!("CARGO_BIN_EXE_kensho-extract");
    for name in [
        "index-2147483647.json",
        "span-100000.json",
        "width-1e12.json",
        "height-i64-max.json",
    ] {
        for target in ["markdown", "visual", "items"] {
            let out = std::process::Command::new(binary)
                .arg("convert")
                .arg(fixtures.join(name))
                .args(["--to", target])
                .output()
                .expect("runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {target}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stdout).contains("before the table"),
                "{name} {target}"
            );
        }
    }
    let out = std::process::Command::new(binary)
        .arg("convert")
        .arg(fixtures.join("span-100000.json"))
        .args(["--to", "text"])
        .output()
        .expect("runs");
    assert!(
        text(&out.stderr).contains("impossible index or span"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_resubmission_is_reported_once_without_a_terminal() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    // A token first, while the emulator is healthy: the faults below then hit only
    // submissions and polls (with half of all answers 500s, twenty submissions all going
    // through is a one-in-a-million draw).
    let vars = keypair_vars(&s);
    let token = run(&["auth", "token"], &as_refs(&vars)).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
    let token = text(&token.stdout).trim().to_string();
    s.emulator
        .set_faults("500=0.5,seed=11".parse().expect("faults"));
    let inputs = s.dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    pdfs(&inputs, 20);
    let out_dir = s.dir.path().join("out");
    let api = s.emulator.base_url().to_string();
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
        ],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_ACCESS_TOKEN", &token),
        ],
    )
    .await;
    let stderr = text(&out.stderr);
    let manifest = extract_batch::Manifest::load(&out_dir).expect("manifest");
    let unknown: usize = manifest
        .documents
        .values()
        .map(|e| e.unknown_outcomes.len())
        .sum();
    assert!(
        unknown > 0,
        "the seed makes some submissions unknown: {stderr}"
    );
    let reported = stderr
        .lines()
        .filter(|l| l.contains("resubmitting"))
        .count();
    // Each resubmission once; a fourth unknown outcome for one input gives up instead.
    let given_up = stderr.lines().filter(|l| l.contains("giving up")).count();
    assert_eq!(reported + given_up, unknown, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_about_files_name_the_file() {
    let s = setup().await;
    let not_a_folder = s.dir.path().join("taken");
    std::fs::write(&not_a_folder, "a file").expect("writes");
    let pdf = s.dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 x").expect("writes");
    let vars = keypair_vars(&s);
    let out = run(
        &[
            "run",
            &pdf.to_string_lossy(),
            "--out-dir",
            &not_a_folder.to_string_lossy(),
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&*not_a_folder.to_string_lossy()),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    use std::io::Read;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/extract-output/extract_output_item_relations.json");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .arg("convert")
        .arg(&fixture)
        .args(["--to", "items"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    // Read a little, as `head -c 16` would, then close the pipe (the output, megabytes, is far
    // larger than the pipe's buffer, so the writer meets the closed end).
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0; 16];
    stdout.read_exact(&mut first).expect("reads");
    drop(stdout);
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// A file name is input: its control characters (a title change, a screen clear) are escaped
/// in every line `run` prints for a person, never sent raw to the terminal.
#[tokio::test(flavor = "multi_thread")]
async fn control_characters_in_file_names_are_escaped_on_stderr() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let vars = keypair_vars(&s);
    let inputs = s.dir.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    let pdf = extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
        heading: "Title".into(),
        paragraphs: vec!["Text.".into()],
    }]);
    std::fs::write(inputs.join("a\u{1b}]0;pwned\u{7}\u{1b}[2J.pdf"), pdf).expect("writes");
    let out_dir = s.dir.path().join("out");
    let out = run(
        &[
            "run",
            &inputs.to_string_lossy(),
            "--out-dir",
            &out_dir.to_string_lossy(),
        ],
        &as_refs(&vars),
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("done"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}') && !stderr.contains('\u{7}'),
        "{stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}]0;pwned\\u{7}"), "{stderr}");
}

/// The token endpoint refuses the client after a few tokens (tokens die after 3 uses, so
/// exchanges come often): the 20-document run stops at the first refusal with one error and
/// exit 6, instead of failing every document one by one. What was written before stays written
/// and in the manifest; no job is accepted after the refusal; good credentials resume the rest.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_exchange_stops_the_run_with_exit_6() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    s.emulator.set_faults(
        "revoke-after=3,refuse-tokens-after=3"
            .parse()
            .expect("faults"),
    );
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 20);
    let out_dir = s.dir.path().join("out");
    let vars = keypair_vars(&s);
    let args = [
        "run",
        &inputs.to_string_lossy(),
        "--out-dir",
        &out_dir.to_string_lossy(),
        "--concurrency",
        "2",
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let out = run(&args, &as_refs(&vars)).await;
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(took < Duration::from_secs(30), "took {took:?}: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(
        errors.len(),
        1,
        "one error for the run, none per document: {stderr}"
    );
    assert!(
        errors[0].contains("the token endpoint refused")
            && errors[0].contains("invalid_client")
            && errors[0].contains("check the client id and key"),
        "{stderr}"
    );

    // The documents done before the stop stay written, and the manifest says so.
    let written: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("lists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
        .collect();
    assert!(
        !written.is_empty() && written.len() < 20,
        "{written:?}: {stderr}"
    );
    assert!(
        errors[0].contains(&format!("{} document(s) were done", written.len())),
        "{stderr}"
    );
    let manifest = extract_batch::Manifest::load(&out_dir).expect("manifest");
    let succeeded: Vec<&str> = manifest
        .documents
        .values()
        .filter(|e| e.state == extract_batch::EntryState::Succeeded)
        .filter_map(|e| e.name.as_deref())
        .collect();
    assert_eq!(succeeded.len(), written.len(), "{succeeded:?} {written:?}");
    for name in &succeeded {
        assert!(
            written.contains(&format!("{name}.json")),
            "{name}: {written:?}"
        );
    }
    assert!(
        manifest
            .documents
            .values()
            .all(|e| e.state != extract_batch::EntryState::Failed),
        "no document is marked failed for the credentials: {:?}",
        manifest.documents
    );

    // Nothing was accepted after the first refusal, and the endpoint was asked again at most
    // once per document in flight (not once per document left).
    let log = s.emulator.request_log();
    let refused_at = log
        .iter()
        .position(|r| r.uri.starts_with("/oauth2/") && r.status == Some(401))
        .expect("a refused exchange");
    let accepted_after = log[refused_at..]
        .iter()
        .filter(|r| r.method == "POST" && r.uri.starts_with("/v3/extractions"))
        .filter(|r| r.status.is_some_and(|s| s < 300))
        .count();
    assert_eq!(accepted_after, 0, "{:?}", &log[refused_at..]);
    let stats = s.emulator.stats();
    assert!(stats.token_rejections <= 2, "{stats:?}");
    // Every job the service holds is one the manifest knows: done, or recorded in flight.
    let jobs = stats.submissions as usize;
    assert!(
        jobs >= written.len() && jobs <= written.len() + count_in_flight(&manifest),
        "{jobs} jobs, {} written: {:?}",
        written.len(),
        manifest.documents
    );

    // With the client accepted again, the same command finishes the rest.
    s.emulator
        .set_faults(extract_emulator::FaultSpec::default());
    let again = run(&args, &as_refs(&vars)).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let written = std::fs::read_dir(&out_dir)
        .expect("lists")
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".json") && !name.starts_with('.')
        })
        .count();
    assert_eq!(written, 20);
}

/// Entries whose job was submitted (or may have been) but not finished.
fn count_in_flight(manifest: &extract_batch::Manifest) -> usize {
    manifest
        .documents
        .values()
        .filter(|e| {
            matches!(
                e.state,
                extract_batch::EntryState::Submitted | extract_batch::EntryState::Submitting
            )
        })
        .count()
}
