//! `kensho-extract submit`, `status` and `fetch` against the emulator.

use std::time::Duration;

use crate::common::*;
use extract_emulator::{EmulatorConfig, SamplePage, sample_pdf};

async fn instant() -> Setup {
    setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await
}

fn write_pdf(s: &Setup) -> String {
    let path = s.dir.path().join("report.pdf");
    let pdf = sample_pdf(&[SamplePage {
        heading: "Quarterly Report".into(),
        paragraphs: vec!["Revenue grew by ten percent.".into()],
    }]);
    std::fs::write(&path, pdf).expect("writes");
    path.to_string_lossy().into_owned()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_status_fetch_inline() {
    let s = instant().await;
    let pdf = write_pdf(&s);
    let vars = keypair_vars(&s);
    let out = run(&["submit", &pdf], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    uuid::Uuid::parse_str(&id).expect("only the request id on stdout");

    let out = run(&["status", &id], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("status:  success"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("mode:    inline"), "{}", stdout(&out));
    let out = run(&["status", &id, "--json"], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert_eq!(status["status"], "success");

    let target = s.dir.path().join("out.json");
    let out = run(
        &["fetch", &id, "-o", &target.to_string_lossy()],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&target).expect("written")).expect("json");
    assert_eq!(
        document["content_tree"]["children"][0]["content"],
        "Quarterly Report"
    );
    let stats = s.emulator.stats();
    assert_eq!(stats.submissions, 1);
    assert_eq!(
        stats.token_exchanges, 4,
        "one per command: each is its own process"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn presigned_submit_and_fetch_with_the_other_mode() {
    let s = instant().await;
    let pdf = write_pdf(&s);
    let vars = keypair_vars(&s);
    let out = run(
        &[
            "submit",
            &pdf,
            "--presigned",
            "--document-type",
            "general",
            "--output-format",
            "structured_document",
        ],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    assert_eq!(s.emulator.stats().uploads, 1);

    let out = run(&["status", &id, "--json"], &as_refs(&vars)).await;
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    assert!(status["output_url"].is_string(), "{status}");

    let out = run(&["fetch", &id], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(document["content_tree"]["children"][0]["type"], "TITLE");
    assert!(
        document["content_tree"]["children"][0]
            .get("locations")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_files_fail_before_anything_is_sent() {
    let s = instant().await;
    let vars = keypair_vars(&s);
    let text = s.dir.path().join("notes.pdf");
    std::fs::write(&text, "plain text").expect("writes");
    let empty = s.dir.path().join("empty.pdf");
    std::fs::write(&empty, "").expect("writes");
    for (file, words) in [
        (text, "not a PDF"),
        (empty, "empty"),
        (s.dir.path().join("gone.pdf"), "no such file"),
    ] {
        let out = run(&["submit", &file.to_string_lossy()], &as_refs(&vars)).await;
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(words), "{err}");
    }
    assert!(s.emulator.request_log().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn fetching_a_failed_or_unfinished_job_says_so_and_writes_nothing() {
    let s = instant().await;
    let vars = keypair_vars(&s);
    // A file that the service cannot read, sent past the client's preflight.
    let broken = s.dir.path().join("broken.pdf");
    std::fs::write(&broken, "%PDF-1.7 but nothing else").expect("writes");
    let out = run(&["submit", &broken.to_string_lossy()], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(1), "preflight refuses it");
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(s.emulator.stats().submissions, 0);
    let out = run(
        &["submit", "--no-preflight", &broken.to_string_lossy()],
        &as_refs(&vars),
    )
    .await;
    let id = stdout(&out).trim().to_string();
    let target = s.dir.path().join("out.json");
    let out = run(
        &["fetch", &id, "-o", &target.to_string_lossy()],
        &as_refs(&vars),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("failed on the service side"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists(), "no output file for a failed job");

    let unknown = uuid::Uuid::new_v4().to_string();
    let out = run(&["fetch", &unknown], &as_refs(&vars)).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}
