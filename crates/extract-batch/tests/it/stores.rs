//! Batches from and to an object store (in memory here; S3 through moto in the CLI's tests),
//! in shards, against the emulator over real sockets.

use std::sync::Arc;
use std::time::Duration;

use extract_batch::{
    BatchEvent, BatchRunner, EntryState, Place, Shard, StorePrefix, shard_manifests,
};
use extract_emulator::{EmulatorConfig, SamplePage, sample_pdf};
use futures_util::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::common::{fast, start};

const DOCUMENTS: usize = 24;

fn at(store: &Arc<dyn ObjectStore>, prefix: &str) -> Place {
    Place::Store(StorePrefix::new(
        store.clone(),
        ObjectPath::from(prefix),
        format!("memory:///{prefix}"),
    ))
}

async fn keys(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list(Some(&ObjectPath::from(prefix)))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("lists");
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_over_a_store_extract_every_document_once_even_when_one_is_interrupted() {
    let (emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_millis(200))).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    // Two folders with the same file names: mirrored names keep them apart.
    for i in 0..DOCUMENTS {
        let folder = if i % 2 == 0 { "a" } else { "b" };
        let pdf = sample_pdf(&[SamplePage {
            heading: format!("Document {i}"),
            paragraphs: vec![format!("Body of document {i}.")],
        }]);
        store
            .put(
                &ObjectPath::from(format!("in/{folder}/doc-{:03}.pdf", i / 2)),
                pdf.into(),
            )
            .await
            .expect("puts");
    }
    let runner = |index: u32| {
        BatchRunner::new(client.clone(), at(&store, "out"))
            .shard(Shard::new(index, 3).expect("shard"))
            .policy(fast())
            .concurrency(3)
            .lease(Duration::from_secs(3))
    };
    let inputs = [at(&store, "in")];

    // Shard 1 is stopped once its first job is submitted (its future dropped, as a killed
    // process stops), whatever its other documents are doing.
    let started = Arc::new(tokio::sync::Notify::new());
    let signal = started.clone();
    let first = runner(1).on_event(move |event| {
        if matches!(event, BatchEvent::Started { .. }) {
            signal.notify_one();
        }
    });
    tokio::select! {
        _ = first.run_from(&inputs) => panic!("finished before it was stopped"),
        () = started.notified() => {}
    }
    // Its lease outlives it by up to a term: another worker is refused, or waits.
    let refused = runner(1).run_from(&inputs).await.expect_err("leased");
    assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock, "{refused}");
    let mut submissions = 0;
    let mut unknown = 0;
    for index in 0..3 {
        let report = runner(index)
            .wait_for_lock(true)
            .run_from(&inputs)
            .await
            .expect("runs");
        assert_eq!(report.summary.errors, 0, "{:?}", report.summary);
        submissions += report.summary.submissions;
        unknown += report.summary.resubmitted_after_unknown_outcome;
    }
    let sent_before = emulator.stats().submissions as usize - submissions;
    assert!(sent_before > 0, "the interrupted run had submitted");
    // Nothing answered (at least the first job) is sent again; only a submission cut off
    // before its answer is, and it is counted (an upper bound: a request dropped before it
    // left counts too, since the run cannot know).
    let total = emulator.stats().submissions as usize;
    assert!(
        (DOCUMENTS..=DOCUMENTS + unknown).contains(&total),
        "{total} submissions, {unknown} after unknown outcomes"
    );

    let outputs: Vec<String> = keys(&store, "out")
        .await
        .into_iter()
        .filter(|k| !k.starts_with("out/.kensho-extract/"))
        .collect();
    let expected: Vec<String> = (0..DOCUMENTS)
        .map(|i| {
            let folder = if i % 2 == 0 { "a" } else { "b" };
            format!("out/{folder}/doc-{:03}.json", i / 2)
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(outputs, expected);

    let manifests = shard_manifests(&at(&store, "out")).await.expect("reads");
    let names: Vec<&str> = manifests.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"]);
    let entries: Vec<_> = manifests
        .iter()
        .flat_map(|(_, m)| m.documents.values())
        .collect();
    assert_eq!(entries.len(), DOCUMENTS);
    assert!(entries.iter().all(|e| e.state == EntryState::Succeeded));
    // Every shard compacted at its end: snapshots only.
    assert!(
        keys(&store, "out/.kensho-extract")
            .await
            .iter()
            .all(|k| k.ends_with("/manifest.json"))
    );

    // A re-run of any shard sends nothing and reads no input (identities from the listing).
    let before = emulator.stats().submissions;
    let again = runner(0).run_from(&inputs).await.expect("runs");
    assert_eq!(again.summary.submissions, 0);
    assert!(again.summary.already_done > 0);
    assert_eq!(emulator.stats().submissions, before);
}

#[tokio::test]
async fn local_shards_name_outputs_after_their_paths_and_never_collide() {
    let (_emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_millis(20))).await;
    let inputs = tempfile::tempdir().expect("tempdir");
    for folder in ["x", "y"] {
        let dir = inputs.path().join(folder);
        std::fs::create_dir_all(&dir).expect("mkdir");
        crate::common::pdfs(&dir, 4);
    }
    let out = tempfile::tempdir().expect("tempdir");
    let mut written = Vec::new();
    for index in 0..2 {
        let report = BatchRunner::new(client.clone(), out.path())
            .shard(Shard::new(index, 2).expect("shard"))
            .policy(fast())
            .run(&[inputs.path().to_path_buf()])
            .await
            .expect("runs");
        assert_eq!(report.summary.errors, 0);
        for (_, outcome) in report.documents {
            if let extract_batch::BatchOutcome::Succeeded(files) = outcome {
                written.extend(files);
            }
        }
        assert!(
            out.path()
                .join(format!(
                    ".kensho-extract/shard-{index}-of-2/.kensho-extract-manifest.json"
                ))
                .is_file()
        );
    }
    written.sort();
    let root = out.path();
    let expected: Vec<_> = ["x", "y"]
        .iter()
        .flat_map(|f| (0..4).map(move |i| root.join(format!("{f}/doc-{i:03}.json"))))
        .collect();
    assert_eq!(written, expected);
}

/// A run over stores can be spawned on a multi-threaded runtime, as a run over folders can.
#[tokio::test]
async fn a_run_over_stores_is_send() {
    fn spawnable<T: Send + 'static>(_: &T) {}
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let runner =
        BatchRunner::new(client, at(&store, "out")).shard(Shard::new(0, 2).expect("shard"));
    let inputs = [at(&store, "in")];
    let run = async move { runner.run_from(&inputs).await };
    spawnable(&run);
    let report = tokio::spawn(run).await.expect("joins").expect("runs");
    assert_eq!(report.documents.len(), 0);
}

/// A run that fails (here: an input that does not exist) gives its lease back at once.
#[tokio::test]
async fn a_failed_run_releases_its_shard() {
    let (_emulator, client) = start(EmulatorConfig::default()).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let runner = || {
        BatchRunner::new(client.clone(), at(&store, "out")).shard(Shard::new(1, 2).expect("shard"))
    };
    let missing = [Place::Local("/nonexistent/kensho-extract-input".into())];
    let failed = runner()
        .run_from(&missing)
        .await
        .expect_err("no such input");
    assert_eq!(failed.kind(), std::io::ErrorKind::NotFound, "{failed}");
    let again = runner()
        .run_from(&[at(&store, "in")])
        .await
        .expect("not claimed");
    assert_eq!(again.documents.len(), 0);
    assert!(
        keys(&store, "out/.kensho-extract/shard-1-of-2/lease.json")
            .await
            .is_empty()
    );
}
