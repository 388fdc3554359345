//! Latency isolation: one document whose output takes 2 s of CPU to render holds up no other
//! document in flight. Every document is its own task and rendering runs on the blocking pool,
//! so the others are noticed and written as early as in a run without the slow one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use extract_batch::{BatchEvent, BatchRunner, Render};
use extract_emulator::EmulatorConfig;

use crate::common::{fast, pdfs, start};

/// Burns CPU for `how_long` (no sleep: a render that computes).
fn burn(how_long: Duration) -> u64 {
    let started = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    while started.elapsed() < how_long {
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    x
}

/// Runs five documents, the first rendered slowly when `slow`; returns when each of the others
/// finished, from the start of the run.
async fn finish_times(slow: bool) -> BTreeMap<String, Duration> {
    let (_emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_millis(800))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = pdfs(dir.path(), 5);
    let render: Arc<Render> = Arc::new(move |document| {
        let first = document
            .content_tree
            .children
            .first()
            .and_then(|c| c.content.clone())
            .unwrap_or_default();
        if slow && first == "Document 0" {
            burn(Duration::from_secs(2));
        }
        Ok(first.into_bytes())
    });
    let started = Instant::now();
    let finished = Arc::new(Mutex::new(BTreeMap::new()));
    let seen = finished.clone();
    let report = BatchRunner::new(client, dir.path().join("out"))
        .policy(fast().with_jitter(0.0))
        .concurrency(5)
        .learn_pace(false)
        .render("txt", render)
        .on_event(move |event| {
            if let BatchEvent::Finished { input, .. } = event {
                let name = input
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                seen.lock().expect("lock").insert(name, started.elapsed());
            }
        })
        .run(&files)
        .await
        .expect("runs");
    assert_eq!(report.summary.succeeded, 5);
    let mut times = finished.lock().expect("lock").clone();
    let slowest = times.remove("doc-000").expect("the first document");
    if slow {
        assert!(slowest >= Duration::from_secs(2), "{slowest:?}");
    }
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_slow_to_render_holds_up_no_other() {
    let without = finish_times(false).await;
    let with = finish_times(true).await;
    for (name, at) in &with {
        let baseline = without[name];
        assert!(
            *at <= baseline + Duration::from_millis(200),
            "{name} finished at {at:?} beside a 2 s render, {baseline:?} without it"
        );
    }
}
