use std::collections::BTreeMap;

use object_store::memory::InMemory;
use proptest::prelude::*;

use super::*;
use crate::manifest::EntryState;

const SHARD: &str = "out/.kensho-extract/shard-0-of-1";

fn queued(name: &str) -> ManifestEntry {
    ManifestEntry::queued("ab".into(), name.into())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A journal is a file from the past, maybe cut or damaged: replaying any bytes never
    /// panics, and every whole line before the damage is applied.
    #[test]
    fn any_journal_bytes_replay_without_panic(
        names in prop::collection::vec("[a-z]{1,8}", 0..6),
        junk in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = Vec::new();
        for name in &names {
            let line = Line {
                key: format!("{name}.pdf"),
                entry: queued(name),
            };
            bytes.extend(serde_json::to_vec(&line).expect("json"));
            bytes.push(b'\n');
        }
        bytes.extend(&junk);
        std::fs::write(dir.path().join(JOURNAL_FILE), &bytes).expect("writes");
        let mut manifest = Manifest::default();
        replay(dir.path(), &mut manifest).expect("replays");
        for name in &names {
            let key = format!("{name}.pdf");
            prop_assert!(manifest.documents.contains_key(&key), "{} missing", key);
        }
    }

    /// Segment names from a store are input too: any name parses to an id or to nothing.
    #[test]
    fn any_segment_name_parses_or_is_passed_over(name in ".{0,40}") {
        if let Some(id) = SegmentId::parse(&name) {
            prop_assert!(name.ends_with(".jsonl"));
            prop_assert_eq!(SegmentId::parse(&id.file_name()), Some(id));
        }
    }
}

#[tokio::test]
async fn changes_survive_a_reopen_and_a_torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, journal) = Journal::open(dir.path()).expect("opens");
    let mut entry = queued("a");
    journal.record("a.pdf", &entry).await.expect("records");
    entry.state = EntryState::Submitting;
    journal.record("a.pdf", &entry).await.expect("records");
    journal
        .record("b.pdf", &queued("b"))
        .await
        .expect("records");
    let written = journal.bytes_written();
    drop(journal);
    // A crash in the middle of a line.
    let mut file = OpenOptions::new()
        .append(true)
        .open(dir.path().join(JOURNAL_FILE))
        .expect("opens");
    file.write_all(br#"{"key": "c.pdf", "entry": {"sha2"#)
        .expect("writes");
    assert!(written > 0);

    let manifest = Manifest::load(dir.path()).expect("loads");
    assert_eq!(manifest.documents.len(), 2);
    assert_eq!(manifest.documents["a.pdf"].state, EntryState::Submitting);
    // Opening compacts: the snapshot holds everything, the journal starts empty.
    let (reopened, _journal) = Journal::open(dir.path()).expect("reopens");
    assert_eq!(reopened, manifest);
    assert_eq!(
        std::fs::metadata(dir.path().join(JOURNAL_FILE))
            .expect("journal")
            .len(),
        0
    );
}

/// Lines queued together share one `fsync`, and each caller still learns when its own line is
/// durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_queued_together_share_one_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, journal) = Journal::open(dir.path()).expect("opens");
    let waits: Vec<_> = (0..200)
        .map(|i| journal.queue(&format!("d{i}.pdf"), &queued(&format!("d{i}"))))
        .collect();
    for wait in waits {
        wait.await.expect("durable");
    }
    let stats = journal.stats();
    assert_eq!(stats.records, 200);
    assert!(
        stats.commits <= 10,
        "{} syncs for 200 lines queued at once",
        stats.commits
    );
    drop(journal);
    assert_eq!(
        Manifest::load(dir.path()).expect("loads").documents.len(),
        200
    );
}

async fn open(store: &Arc<dyn ObjectStore>, fence: Fence) -> (Manifest, Journal) {
    Journal::open_with(
        store.clone(),
        ObjectPath::from(SHARD),
        fence,
        Duration::ZERO,
    )
    .await
    .expect("opens")
}

fn lease(generation: u64) -> Fence {
    Fence::leased(
        "shard",
        generation,
        Instant::now() + Duration::from_secs(3600),
        true,
    )
}

#[tokio::test]
async fn segments_survive_a_crash_and_a_stale_one_is_never_replayed() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let state = ObjectPath::from(SHARD);
    let (_, journal) = open(&store, Fence::unbounded("s")).await;
    let mut entry = queued("a");
    journal.record("a.pdf", &entry).await.expect("records");
    entry.state = EntryState::Submitted;
    journal.record("a.pdf", &entry).await.expect("records");
    // A crash: no compaction, only segments.
    drop(journal);
    let segments = list_segments(store.as_ref(), &state).await.expect("lists");
    assert_eq!(segments.len(), 2, "one put per group commit");
    let stale = segments[0].1.clone();
    let stale_bytes = fetch(store.as_ref(), stale.clone()).await.expect("gets");

    let (manifest, journal) = open(&store, Fence::unbounded("s")).await;
    assert_eq!(manifest.documents["a.pdf"].state, EntryState::Submitted);
    assert!(
        list_segments(store.as_ref(), &state)
            .await
            .expect("lists")
            .is_empty()
    );
    journal
        .record("b.pdf", &queued("b"))
        .await
        .expect("records");
    drop(journal);
    // A segment whose deletion failed comes back: it is older than the snapshot, and
    // replaying it would take `a.pdf` back to queued.
    store
        .put(&stale, PutPayload::from(stale_bytes))
        .await
        .expect("puts");
    let loaded = load_store(store.as_ref(), &state).await.expect("loads");
    assert_eq!(
        loaded.manifest.documents["a.pdf"].state,
        EntryState::Submitted
    );
    assert_eq!(loaded.manifest.documents["b.pdf"].state, EntryState::Queued);
}

#[tokio::test]
async fn many_segments_are_fetched_together_and_applied_in_order_including_old_names() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let state = ObjectPath::from(SHARD);
    for n in 0..100u64 {
        let line = Line {
            key: "a.pdf".into(),
            entry: queued(&format!("n{n}")),
        };
        let mut bytes = serde_json::to_vec(&line).expect("json");
        bytes.push(b'\n');
        // The first half as written before generations (`<number>.jsonl`).
        let path = if n < 50 {
            state
                .clone()
                .join(SEGMENTS)
                .join(format!("{n:012}.jsonl").as_str())
        } else {
            segment_path(
                &state,
                SegmentId {
                    generation: 0,
                    number: n,
                },
            )
        };
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .expect("puts");
    }
    let loaded = load_store(store.as_ref(), &state).await.expect("loads");
    assert_eq!(
        loaded.manifest.documents["a.pdf"].name.as_deref(),
        Some("n99")
    );
    assert_eq!(loaded.next.number, 100);
}

#[tokio::test]
async fn a_long_run_snapshots_as_it_goes_so_a_restart_replays_few_segments() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let state = ObjectPath::from(SHARD);
    let (mut manifest, journal) = open(&store, Fence::unbounded("s")).await;
    // One record at a time: one segment each, as a slow batch writes them.
    for n in 0..600u32 {
        let key = format!("doc-{}.pdf", n % 10);
        let entry = ManifestEntry::queued(format!("{n}"), format!("doc-{}", n % 10));
        journal.record(&key, &entry).await.expect("records");
        manifest.documents.insert(key, entry);
    }
    // The snapshot is taken by the writer after the segment: give it its moment.
    drop(journal);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let left = list_segments(store.as_ref(), &state)
        .await
        .expect("lists")
        .len() as u64;
    assert!(left <= SNAPSHOT_EVERY, "{left} segments left to replay");
    // A crash now: what a restart reads is what was recorded.
    let loaded = load_store(store.as_ref(), &state).await.expect("loads");
    assert_eq!(loaded.manifest.documents, manifest.documents);
    assert_eq!(loaded.next.number, 600);
}

/// A worker whose lease lapsed writes nothing more; one whose late segment slipped through
/// (written in the instant before a pause) is ignored by every reader, because the new
/// holder's snapshot starts at its own generation; and the old holder can no longer replace
/// the snapshot.
#[tokio::test]
async fn a_fenced_off_worker_writes_nothing_and_its_late_writes_are_never_read() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let state = ObjectPath::from(SHARD);
    let a_fence = lease(1);
    let (_, a) = open(&store, a_fence.clone()).await;
    a.record("x.pdf", &queued("x")).await.expect("records");
    // B takes the shard over (A's lease has lapsed by the time rule).
    a_fence.lose("lapsed before it could be renewed");
    let (seen, b) = open(&store, lease(2)).await;
    assert!(seen.documents.contains_key("x.pdf"), "B sees what A wrote");
    b.record("y.pdf", &queued("y")).await.expect("records");
    // A, fenced, writes nothing: its record fails and no object appears.
    let objects = |store: Arc<dyn ObjectStore>| async move {
        store
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect::<Vec<_>>()
            .await
            .expect("lists")
    };
    let before = objects(store.clone()).await;
    let refused = a.record("z.pdf", &queued("z")).await.expect_err("fenced");
    assert!(refused.to_string().contains("lease"), "{refused}");
    assert_eq!(objects(store.clone()).await, before);
    // A segment of A's generation that slipped through anyway is never applied.
    let late = Line {
        key: "x.pdf".into(),
        entry: ManifestEntry {
            state: EntryState::Failed,
            ..queued("x")
        },
    };
    let mut bytes = serde_json::to_vec(&late).expect("json");
    bytes.push(b'\n');
    store
        .put(
            &segment_path(
                &state,
                SegmentId {
                    generation: 1,
                    number: 99,
                },
            ),
            PutPayload::from(bytes),
        )
        .await
        .expect("puts");
    let loaded = load_store(store.as_ref(), &state).await.expect("loads");
    assert_eq!(loaded.manifest.documents["x.pdf"].state, EntryState::Queued);
    assert!(loaded.manifest.documents.contains_key("y.pdf"));
    // Nor can A replace the snapshot, even with its fence check passed.
    let unfenced_a = StoreJournal {
        store: store.clone(),
        state: state.clone(),
        fence: lease(1),
        linger: Duration::ZERO,
        snapshot: tokio::sync::Mutex::new(
            a.store
                .as_ref()
                .and_then(|j| j.snapshot.try_lock().ok().and_then(|v| v.clone())),
        ),
    };
    let compacted = unfenced_a
        .compact(
            &Manifest::default(),
            SegmentId {
                generation: 1,
                number: 100,
            },
        )
        .await;
    assert!(
        compacted.is_err(),
        "the old holder's snapshot write is refused"
    );
    let loaded = load_store(store.as_ref(), &state).await.expect("loads");
    assert!(loaded.manifest.documents.contains_key("y.pdf"));
}

/// One step of two workers sharing a shard's journal in a store that holds conditional
/// writes, as a property test chooses them.
#[derive(Debug, Clone)]
enum Step {
    /// The worker takes the shard over: the other's lease has lapsed (the time rule), this one
    /// opens the journal under the next generation and records an unknown outcome for every
    /// submission it finds started and unanswered, as the runner does.
    TakeOver(usize),
    /// The worker records that it is about to submit document `doc` (if it is not done).
    Record(usize, usize),
    /// The worker sends the submission it recorded, if its fence still allows.
    Send(usize, usize),
    /// A segment of the worker's that slipped past its fence in the instant before a pause.
    Slip(usize, usize),
    /// The worker compacts its journal.
    Compact(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..2usize).prop_map(Step::TakeOver),
        (0..2usize, 0..3usize).prop_map(|(w, d)| Step::Record(w, d)),
        (0..2usize, 0..3usize).prop_map(|(w, d)| Step::Send(w, d)),
        (0..2usize, 0..3usize).prop_map(|(w, d)| Step::Slip(w, d)),
        (0..2usize).prop_map(Step::Compact),
    ]
}

struct Worker {
    fence: Fence,
    journal: Journal,
    /// Its view of the manifest.
    manifest: Manifest,
}

/// Runs `steps` against a real in-memory store with the real journal; returns the submissions
/// sent per document and the manifest a final reader sees.
async fn interleave(steps: Vec<Step>) -> (BTreeMap<String, usize>, Manifest) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let state = ObjectPath::from(SHARD);
    let mut generation = 1;
    // Worker 0 starts as the holder.
    let fence = lease(generation);
    let (manifest, journal) = open(&store, fence.clone()).await;
    let mut workers: [Option<Worker>; 2] = [
        Some(Worker {
            fence,
            journal,
            manifest,
        }),
        None,
    ];
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for step in steps {
        match step {
            Step::TakeOver(w) => {
                for other in workers.iter().flatten() {
                    other.fence.lose("lapsed before it could be renewed");
                }
                generation += 1;
                let fence = lease(generation);
                let Ok((mut manifest, journal)) =
                    Journal::open_with(store.clone(), state.clone(), fence.clone(), Duration::ZERO)
                        .await
                else {
                    continue;
                };
                let started: Vec<String> = manifest
                    .documents
                    .iter()
                    .filter(|(_, e)| e.state == EntryState::Submitting)
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in started {
                    if let Some(entry) = manifest.documents.get_mut(&key) {
                        entry.unknown_outcomes.push("an earlier run stopped".into());
                        entry.state = EntryState::Queued;
                        let _ = journal.record(&key, entry).await;
                    }
                }
                workers[w] = Some(Worker {
                    fence,
                    journal,
                    manifest,
                });
            }
            Step::Record(w, doc) => {
                let Some(worker) = &mut workers[w] else {
                    continue;
                };
                let key = format!("d{doc}.pdf");
                let mut entry = worker
                    .manifest
                    .documents
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| queued(&format!("d{doc}")));
                if entry.state != EntryState::Queued {
                    continue;
                }
                entry.state = EntryState::Submitting;
                // As the runner does: the journal asks the fence; the record itself does not.
                if worker.journal.record(&key, &entry).await.is_ok() {
                    worker.manifest.documents.insert(key, entry);
                }
            }
            Step::Send(w, doc) => {
                let Some(worker) = &mut workers[w] else {
                    continue;
                };
                let key = format!("d{doc}.pdf");
                let Some(entry) = worker.manifest.documents.get(&key).cloned() else {
                    continue;
                };
                // The runner asks the fence immediately before a submission leaves.
                if entry.state != EntryState::Submitting || worker.fence.check().is_err() {
                    continue;
                }
                *sent.entry(key.clone()).or_default() += 1;
                let done = ManifestEntry {
                    state: EntryState::Submitted,
                    request_id: Some(format!("r{doc}")),
                    ..entry
                };
                if worker.journal.record(&key, &done).await.is_ok() {
                    worker.manifest.documents.insert(key, done);
                }
            }
            Step::Slip(w, doc) => {
                // Only a worker whose fence has closed has writes that slip past it.
                let Some(worker) = workers[w].as_ref().filter(|w| w.fence.check().is_err()) else {
                    continue;
                };
                let line = Line {
                    key: format!("d{doc}.pdf"),
                    entry: queued(&format!("d{doc}")),
                };
                let mut bytes = serde_json::to_vec(&line).expect("json");
                bytes.push(b'\n');
                let id = SegmentId {
                    generation: worker.fence.generation(),
                    number: 1_000_000 + doc as u64,
                };
                let _ = store
                    .put(&segment_path(&state, id), PutPayload::from(bytes))
                    .await;
            }
            Step::Compact(w) => {
                let Some(worker) = &workers[w] else {
                    continue;
                };
                if let Some(journal) = &worker.journal.store {
                    let next = list_segments(store.as_ref(), &state)
                        .await
                        .expect("lists")
                        .last()
                        .map_or(SegmentId::default(), |(id, _)| id.after())
                        .max(SegmentId {
                            generation: worker.fence.generation(),
                            number: 0,
                        });
                    let _ = journal.compact(&worker.manifest, next).await;
                }
            }
        }
    }
    let final_view = load_store(store.as_ref(), &state)
        .await
        .expect("loads")
        .manifest;
    (sent, final_view)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// For any interleaving of two workers' steps on a store with conditional writes, no
    /// document is submitted twice unless an unknown outcome was recorded for it, and what a
    /// submission recorded is never lost to a later reader.
    #[test]
    fn no_document_is_submitted_twice_without_an_unknown_outcome(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (sent, manifest) = runtime.block_on(interleave(steps));
        for (key, count) in sent {
            let unknown = manifest
                .documents
                .get(&key)
                .map_or(0, |e| e.unknown_outcomes.len());
            prop_assert!(
                count <= 1 + unknown,
                "{} sent {} times with {} unknown outcomes recorded",
                key,
                count,
                unknown
            );
        }
    }
}
