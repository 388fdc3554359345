//! The output folder belongs to one run and to the user (issue 10): a lock, names that stay
//! with their inputs, files the runner did not write left alone, formats completed from stored
//! outputs, deleted outputs fetched again, conversions that fail without losing the batch, and
//! inputs that are not regular files refused. Over real sockets, on real time: the emulator's
//! jobs finish at once and polls are short.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{fast, pdfs, start};
use extract_batch::{BatchEvent, BatchOutcome, BatchRunner, FolderLock, Manifest, Render};
use extract_emulator::{EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};

async fn instant() -> (RunningEmulator, extract_api::Client) {
    start(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await
}

fn markdown() -> Arc<Render> {
    Arc::new(|d| Ok(extract_convert_free_markdown(d).into_bytes()))
}

/// A stand-in Markdown: the headings' text (this crate does not depend on the converters).
fn extract_convert_free_markdown(document: &extract_api::OutputDocument) -> String {
    document
        .nodes()
        .filter_map(|n| n.content.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

fn pdf_saying(path: &Path, heading: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(
        path,
        sample_pdf(&[SamplePage {
            heading: heading.into(),
            paragraphs: vec![format!("{heading} body.")],
        }]),
    )
    .expect("writes");
    path.to_path_buf()
}

#[tokio::test]
async fn a_second_run_on_the_same_folder_is_refused_and_no_job_is_doubled() {
    let (emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_millis(300))).await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let files = pdfs(inputs.path(), 3);

    // Another run holds the folder: this one stops at once, having sent nothing.
    let other_run = FolderLock::acquire(out.path(), false).await.expect("locks");
    let runner = BatchRunner::new(client.clone(), out.path()).policy(fast());
    let refused = runner.run(&files).await.expect_err("refused");
    assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock);
    assert!(
        refused
            .to_string()
            .contains(&format!("process {}", std::process::id())),
        "{refused}"
    );
    assert_eq!(emulator.stats().submissions, 0);

    // With --wait-lock, a run waits for the holder, then works.
    let waiting = tokio::spawn({
        let runner = BatchRunner::new(client.clone(), out.path())
            .policy(fast())
            .wait_for_lock(true);
        let files = files.clone();
        async move { runner.run(&files).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "waits while the folder is held");
    assert_eq!(emulator.stats().submissions, 0);
    drop(other_run);
    let report = waiting.await.expect("joins").expect("runs");
    assert_eq!(report.summary.succeeded, 3);

    // Two runs at once, whichever locks first: every job exactly once.
    let first = BatchRunner::new(client.clone(), out.path())
        .policy(fast())
        .wait_for_lock(true);
    let second = BatchRunner::new(client, out.path())
        .policy(fast())
        .wait_for_lock(true);
    std::fs::remove_file(out.path().join(extract_batch::MANIFEST_FILE)).expect("forgets");
    for name in ["doc-000", "doc-001", "doc-002"] {
        std::fs::remove_file(out.path().join(format!("{name}.json"))).expect("removes");
    }
    let (a, b) = tokio::join!(first.run(&files), second.run(&files));
    let (a, b) = (a.expect("first").summary, b.expect("second").summary);
    assert_eq!(a.succeeded + b.succeeded, 3, "{a:?} {b:?}");
    assert_eq!(a.already_done + b.already_done, 3, "{a:?} {b:?}");
    assert_eq!(
        emulator.stats().submissions,
        6,
        "three, then three again: never doubled"
    );
}

#[tokio::test]
async fn a_name_once_given_stays_with_its_input() {
    let (emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let a = pdf_saying(&inputs.path().join("a/x.pdf"), "From folder a");
    let c = pdf_saying(&inputs.path().join("c/x.pdf"), "From folder c");
    let runner = BatchRunner::new(client, out.path())
        .policy(fast())
        .render("md", markdown());
    runner.run(std::slice::from_ref(&a)).await.expect("a");
    runner.run(std::slice::from_ref(&c)).await.expect("c");
    let extract_batch::BatchReport {
        documents: results,
        summary,
        ..
    } = runner.run(std::slice::from_ref(&a)).await.expect("a again");
    assert_eq!(summary.already_done, 1);
    assert_eq!(results[0].1, BatchOutcome::AlreadyDone);
    let x = std::fs::read_to_string(out.path().join("x.md")).expect("x.md");
    let x2 = std::fs::read_to_string(out.path().join("x-2.md")).expect("x-2.md");
    assert!(x.contains("From folder a"), "{x}");
    assert!(x2.contains("From folder c"), "{x2}");
    assert_eq!(emulator.stats().submissions, 2);
}

/// The manifest is read back from disk, so it is input too: a tampered entry that names its
/// outputs `../../x` (or an absolute path) never makes the run write outside the folder; the
/// input is named anew.
#[tokio::test]
async fn a_tampered_manifest_name_never_writes_outside_the_folder() {
    let (_emulator, client) = instant().await;
    let root = tempfile::tempdir().expect("tempdir");
    let out = root.path().join("deep/out");
    let a = pdf_saying(&root.path().join("in/a.pdf"), "Tampered");
    let runner = BatchRunner::new(client, &out).policy(fast());
    runner
        .run(std::slice::from_ref(&a))
        .await
        .expect("first run");
    let path = out.join(extract_batch::MANIFEST_FILE);
    let absolute = root.path().join("absolute");
    let absolute = absolute.to_str().expect("utf-8");
    for (tampered, escaped) in [
        ("../../escaped", root.path().join("escaped.json")),
        (absolute, root.path().join("absolute.json")),
    ] {
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("reads")).expect("JSON");
        for entry in manifest["documents"]
            .as_object_mut()
            .expect("documents")
            .values_mut()
        {
            entry["name"] = tampered.into();
            entry["outputs"] = serde_json::json!([]);
        }
        std::fs::write(&path, serde_json::to_vec(&manifest).expect("JSON")).expect("writes");
        for file in std::fs::read_dir(&out).expect("lists").flatten() {
            if file.path().extension().is_some_and(|e| e == "json")
                && !file.file_name().to_string_lossy().starts_with('.')
            {
                std::fs::remove_file(file.path()).expect("removes");
            }
        }
        let report = runner.run(std::slice::from_ref(&a)).await.expect("runs");
        assert_eq!(report.summary.succeeded, 1, "{tampered}");
        assert!(!escaped.exists(), "{tampered} wrote {}", escaped.display());
        let written: Vec<_> = std::fs::read_dir(&out)
            .expect("lists")
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        assert_eq!(written, ["a.json"], "{tampered}");
    }
}

/// A tampered manifest that gives two inputs one name must not make one output overwrite the
/// other: the second is named anew, and both outputs are there.
#[tokio::test]
async fn a_manifest_giving_two_inputs_one_name_loses_no_output() {
    let (_emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let a = pdf_saying(&inputs.path().join("a.pdf"), "Content of a");
    let b = pdf_saying(&inputs.path().join("b.pdf"), "Content of b");
    let runner = BatchRunner::new(client, out.path())
        .policy(fast())
        .overwrite(true)
        .render("md", markdown());
    let both = [a, b];
    runner.run(&both).await.expect("first run");
    let path = out.path().join(extract_batch::MANIFEST_FILE);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("reads")).expect("JSON");
    for entry in manifest["documents"]
        .as_object_mut()
        .expect("documents")
        .values_mut()
    {
        entry["name"] = "a".into();
        entry["outputs"] = serde_json::json!([]);
        entry["status"] = "queued".into();
    }
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("JSON")).expect("writes");
    for name in ["a.json", "a.md", "b.json", "b.md"] {
        let _ = std::fs::remove_file(out.path().join(name));
    }
    let report = runner.run(&both).await.expect("runs");
    assert_eq!(report.summary.succeeded, 2, "{:?}", report.summary);
    let mut texts: Vec<String> = std::fs::read_dir(out.path())
        .expect("lists")
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
        .map(|f| std::fs::read_to_string(f.path()).expect("reads"))
        .collect();
    texts.sort();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("Content of a"), "{texts:?}");
    assert!(texts[1].contains("Content of b"), "{texts:?}");
}

#[tokio::test]
async fn a_file_the_runner_did_not_write_is_never_replaced() {
    let (_emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let doc = pdf_saying(&inputs.path().join("doc1.pdf"), "Mine");
    std::fs::write(out.path().join("doc1.json"), "the user's own file").expect("writes");
    let renamed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = renamed.clone();
    let runner = BatchRunner::new(client.clone(), out.path())
        .policy(fast())
        .on_event(move |e| {
            if let BatchEvent::Renamed { name, kept, .. } = e {
                seen.lock().expect("lock").push((name, kept));
            }
        });
    let extract_batch::BatchReport {
        documents: results,
        summary: _,
        ..
    } = runner.run(std::slice::from_ref(&doc)).await.expect("runs");
    assert_eq!(
        std::fs::read_to_string(out.path().join("doc1.json")).expect("reads"),
        "the user's own file"
    );
    assert_eq!(
        results[0].1,
        BatchOutcome::Succeeded(vec![out.path().join("doc1-2.json")])
    );
    assert_eq!(
        renamed.lock().expect("lock").as_slice(),
        [("doc1-2".to_string(), out.path().join("doc1.json"))]
    );

    // With overwrite, a new input may take the name.
    let other = pdf_saying(&inputs.path().join("b/notes.pdf"), "Notes");
    std::fs::write(out.path().join("notes.json"), "old").expect("writes");
    let extract_batch::BatchReport {
        documents: results,
        summary: _,
        ..
    } = BatchRunner::new(client, out.path())
        .policy(fast())
        .overwrite(true)
        .run(std::slice::from_ref(&other))
        .await
        .expect("runs");
    assert_eq!(
        results[0].1,
        BatchOutcome::Succeeded(vec![out.path().join("notes.json")])
    );
    assert_ne!(
        std::fs::read_to_string(out.path().join("notes.json")).expect("reads"),
        "old"
    );
}

#[tokio::test]
async fn a_new_format_and_a_deleted_output_cost_no_submission() {
    let (emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let files = pdfs(inputs.path(), 2);
    BatchRunner::new(client.clone(), out.path())
        .policy(fast())
        .run(&files)
        .await
        .expect("json only");
    assert_eq!(emulator.stats().submissions, 2);

    // A re-run asking for Markdown writes it from the stored JSON.
    let with_markdown = BatchRunner::new(client.clone(), out.path())
        .policy(fast())
        .render("md", markdown());
    let extract_batch::BatchReport { summary, .. } =
        with_markdown.run(&files).await.expect("markdown");
    assert_eq!(summary.completed_without_submission, 2);
    assert!(out.path().join("doc-000.md").is_file());
    assert_eq!(emulator.stats().submissions, 2, "nothing resubmitted");
    let extract_batch::BatchReport { summary, .. } =
        with_markdown.run(&files).await.expect("again");
    assert_eq!(summary.already_done, 2);

    // A deleted output is fetched again from its request.
    std::fs::remove_file(out.path().join("doc-001.json")).expect("removes");
    let extract_batch::BatchReport {
        documents: results,
        summary,
        ..
    } = with_markdown.run(&files).await.expect("refetch");
    assert_eq!(summary.resumed, 1);
    assert!(out.path().join("doc-001.json").is_file());
    assert!(
        results
            .iter()
            .any(|(_, o)| matches!(o, BatchOutcome::Succeeded(_)))
    );
    assert_eq!(emulator.stats().submissions, 2, "fetched, not resubmitted");
}

#[tokio::test]
async fn a_conversion_that_fails_loses_neither_the_document_nor_the_batch() {
    let (emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let files = pdfs(inputs.path(), 3);
    let fragile: Arc<Render> = Arc::new(|d| {
        let text = extract_convert_free_markdown(d);
        if text.contains("Document 1") {
            panic!("a converter bug");
        }
        if text.contains("Document 2") {
            return Err("cannot convert this one".into());
        }
        Ok(text.into_bytes())
    });
    let runner = BatchRunner::new(client, out.path())
        .policy(fast())
        .render("md", fragile);
    let extract_batch::BatchReport {
        documents: results,
        summary,
        ..
    } = runner.run(&files).await.expect("runs");
    assert_eq!((summary.succeeded, summary.conversion_failed), (1, 2));
    for (file, outcome) in &results {
        let stem = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        assert!(out.path().join(format!("{stem}.json")).is_file(), "{stem}");
        if stem != "doc-000" {
            assert!(
                matches!(outcome, BatchOutcome::ConversionFailed { written, .. } if written.len() == 1),
                "{outcome:?}"
            );
        }
    }
    // A re-run retries the conversion from the stored JSON, and submits nothing.
    let extract_batch::BatchReport { summary, .. } = runner.run(&files).await.expect("again");
    assert_eq!((summary.already_done, summary.conversion_failed), (1, 2));
    assert_eq!(emulator.stats().submissions, 3);
}

#[cfg(unix)]
#[tokio::test]
async fn file_names_that_are_not_utf8_stay_two_inputs() {
    use std::os::unix::ffi::OsStrExt;
    let (emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let names: [&[u8]; 2] = [b"r\xffe.pdf", b"r\xfee.pdf"];
    let files: Vec<PathBuf> = names
        .iter()
        .map(|n| {
            pdf_saying(
                &inputs.path().join(std::ffi::OsStr::from_bytes(n)),
                &format!("Name {}", n[1]),
            )
        })
        .collect();
    let runner = BatchRunner::new(client, out.path()).policy(fast());
    let extract_batch::BatchReport { summary, .. } = runner.run(&files).await.expect("runs");
    assert_eq!(summary.succeeded, 2);
    let extract_batch::BatchReport { summary, .. } = runner.run(&files).await.expect("again");
    assert_eq!(summary.already_done, 2, "neither is submitted again");
    assert_eq!(emulator.stats().submissions, 2);
    assert_eq!(
        Manifest::load(out.path())
            .expect("manifest")
            .documents
            .len(),
        2
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_is_refused_at_once() {
    let (emulator, client) = instant().await;
    let inputs = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let fifo = inputs.path().join("pipe.pdf");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let runner = BatchRunner::new(client.clone(), out.path()).policy(fast());
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        runner.run(std::slice::from_ref(&fifo)),
    )
    .await
    .expect("does not hang")
    .expect_err("refused");
    assert!(
        refused.to_string().contains("not a regular file"),
        "{refused}"
    );
    // In a folder, it is passed over and the real PDFs run.
    let files = pdfs(inputs.path(), 1);
    let extract_batch::BatchReport {
        documents: results,
        summary: _,
        ..
    } = tokio::time::timeout(
        Duration::from_secs(30),
        runner.run(&[inputs.path().to_path_buf()]),
    )
    .await
    .expect("does not hang")
    .expect("runs");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].0, files[0]);
    assert_eq!(emulator.stats().submissions, 1);
    // Submitting it directly is refused before opening it (opening a FIFO blocks).
    let direct = tokio::time::timeout(
        Duration::from_secs(10),
        client.submit_file(&fifo, &extract_api::ExtractionOptions::new()),
    )
    .await
    .expect("does not hang")
    .expect_err("refused");
    assert!(
        direct.to_string().contains("not a regular file"),
        "{direct}"
    );
}
