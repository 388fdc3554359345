//! The manifest's journal: every change to an entry appended as one JSON line, so a batch of N
//! documents writes O(N) bytes (rewriting the whole manifest after every step wrote O(N²)).
//!
//! Lines are written and synced on a thread of their own, never on the async runtime; many
//! changes that arrive together share one `fsync` (group commit). A caller awaits its line's
//! sync, so a `submitting` record is on disk before the submission leaves. On open, the
//! snapshot and the journal are read, a torn last line (a crash mid-write) is ignored, and the
//! two are compacted into a new snapshot.
//!
//! An object store cannot append: there each group of lines is written as a new object, a
//! numbered segment (`journal/000000000007.jsonl`; a put is atomic, so a segment is whole or
//! absent). On open, the snapshot and the segments after it are read in order, a new snapshot
//! is written that names the first segment it does not hold, and the old segments are deleted;
//! a segment that survives its deletion is ignored, never replayed over newer states.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::source::store_error;

use crate::{Manifest, ManifestEntry};

/// The journal's file name inside the output directory.
pub const JOURNAL_FILE: &str = ".kensho-extract-journal.jsonl";

/// One line of the journal: an entry as it is after a change.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    entry: ManifestEntry,
}

type Pending = (Vec<u8>, oneshot::Sender<std::io::Result<()>>);

/// Appends entries to a manifest's journal from any task.
#[derive(Debug)]
pub struct Journal {
    sender: mpsc::UnboundedSender<Pending>,
    written: Arc<AtomicU64>,
    /// For a journal in a store: where, and its segment numbers.
    segments: Option<Segments>,
}

/// A store journal's segment numbers: the next to write, and the first its snapshot lacks.
#[derive(Debug)]
struct Segments {
    store: Arc<dyn ObjectStore>,
    state: ObjectPath,
    next: Arc<AtomicU64>,
    snapshot_lacks: AtomicU64,
}

/// A store journal takes a new snapshot once it has written this many segments since the last
/// one, or half as many as the manifest has documents if that is more: a restart after a
/// long run replays a bounded number of segments, and the snapshots of a run cost O(N) bytes
/// in all.
const SNAPSHOT_EVERY: u64 = 256;

/// Applies the journal of `dir` (if any) to `manifest`.
pub(crate) fn replay(dir: &Path, manifest: &mut Manifest) -> std::io::Result<()> {
    let path = dir.join(JOURNAL_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ));
        }
    };
    for line in BufReader::new(file).split(b'\n') {
        apply(&line?, manifest);
    }
    Ok(())
}

impl Journal {
    /// Loads the manifest of `dir` (snapshot and journal), compacts them into a new snapshot,
    /// and opens an empty journal for this run's changes.
    pub fn open(dir: &Path) -> std::io::Result<(Manifest, Journal)> {
        let manifest = Manifest::load(dir)?;
        manifest.save(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let (sender, receiver) = mpsc::unbounded_channel::<Pending>();
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        std::thread::Builder::new()
            .name("kensho-extract-journal".into())
            .spawn(move || write_lines(file, path, receiver, counter))?;
        Ok((
            manifest,
            Journal {
                sender,
                written,
                segments: None,
            },
        ))
    }

    /// Loads the manifest kept in `store` under `state`, compacts it into a new snapshot, and
    /// writes this run's changes as new segments there.
    pub async fn open_store(
        store: Arc<dyn ObjectStore>,
        state: ObjectPath,
    ) -> std::io::Result<(Manifest, Journal)> {
        let (manifest, next) = load_store(store.as_ref(), &state).await?;
        compact_store(store.as_ref(), &state, &manifest, next).await?;
        let (sender, mut receiver) = mpsc::unbounded_channel::<Pending>();
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        let numbers = Arc::new(AtomicU64::new(next));
        let segments = Segments {
            store: store.clone(),
            state: state.clone(),
            next: numbers.clone(),
            snapshot_lacks: AtomicU64::new(next),
        };
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let (bytes, waiting) = gather(first, &mut receiver);
                let len = bytes.len();
                let number = numbers.load(Ordering::SeqCst);
                let path = segment_path(&state, number);
                let result = store
                    .put(&path, PutPayload::from(bytes))
                    .await
                    .map(drop)
                    .map_err(|e| {
                        let e = store_error(e);
                        std::io::Error::new(e.kind(), format!("{path}: {e}"))
                    });
                if result.is_ok() {
                    numbers.store(number + 1, Ordering::SeqCst);
                }
                answer(waiting, &result, len, &counter);
            }
        });
        Ok((
            manifest,
            Journal {
                sender,
                written,
                segments: Some(segments),
            },
        ))
    }

    /// For a journal in a store that has written enough segments since its snapshot
    /// ([`SNAPSHOT_EVERY`]): writes `manifest` as the new snapshot and deletes the segments it
    /// holds. `manifest` must hold every change recorded so far and no record may be in
    /// flight: the runner calls it under the manifest's lock, which every record is made under.
    /// A snapshot that fails is not an error: the segments are still there.
    pub(crate) async fn snapshot_if_due(&self, manifest: &Manifest) {
        let Some(segments) = &self.segments else {
            return;
        };
        let next = segments.next.load(Ordering::SeqCst);
        let since = next.saturating_sub(segments.snapshot_lacks.load(Ordering::SeqCst));
        let due = SNAPSHOT_EVERY.max(manifest.documents.len() as u64 / 2);
        if since < due {
            return;
        }
        let store = segments.store.as_ref();
        if let Err(e) = save_store(store, &segments.state, manifest, next).await {
            tracing::warn!("could not write the manifest's snapshot: {e}");
            return;
        }
        segments.snapshot_lacks.store(next, Ordering::SeqCst);
        let held: Vec<ObjectPath> = match list_segments(store, &segments.state).await {
            Ok(listed) => listed
                .into_iter()
                .filter(|(n, _)| *n < next)
                .map(|(_, p)| p)
                .collect(),
            Err(_) => return,
        };
        // Many at a time; one left behind is skipped on replay (the snapshot names `next`).
        let mut deleted = futures_util::stream::iter(held)
            .map(|path| async move { store.delete(&path).await })
            .buffer_unordered(REPLAY_FETCHES);
        while deleted.next().await.is_some() {}
    }

    /// Appends `entry` as the state of `key`, returning once it is synced to disk.
    pub async fn record(&self, key: &str, entry: &ManifestEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Line {
            key: key.to_string(),
            entry: entry.clone(),
        })?;
        line.push(b'\n');
        let (done, synced) = oneshot::channel();
        self.sender
            .send((line, done))
            .map_err(|_| std::io::Error::other("the journal's writer has stopped"))?;
        synced
            .await
            .map_err(|_| std::io::Error::other("the journal's writer has stopped"))?
    }

    /// Bytes appended so far.
    pub fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// The writer thread: takes every line waiting, writes them, syncs once, answers each.
fn write_lines(
    mut file: File,
    path: PathBuf,
    mut receiver: mpsc::UnboundedReceiver<Pending>,
    written: Arc<AtomicU64>,
) {
    while let Some(first) = receiver.blocking_recv() {
        let (bytes, batch) = gather(first, &mut receiver);
        let result = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        answer(batch, &result, bytes.len(), &written);
    }
}

/// The first line and every other waiting: their bytes together, and who waits for them.
fn gather(
    first: Pending,
    receiver: &mut mpsc::UnboundedReceiver<Pending>,
) -> (Vec<u8>, Vec<oneshot::Sender<std::io::Result<()>>>) {
    let mut bytes = first.0;
    let mut waiting = vec![first.1];
    while let Ok((line, done)) = receiver.try_recv() {
        bytes.extend(line);
        waiting.push(done);
    }
    (bytes, waiting)
}

/// Tells every waiter how its lines fared, and counts the bytes that were kept.
fn answer(
    waiting: Vec<oneshot::Sender<std::io::Result<()>>>,
    result: &std::io::Result<()>,
    len: usize,
    written: &AtomicU64,
) {
    if result.is_ok() {
        written.fetch_add(len as u64, Ordering::Relaxed);
    }
    for done in waiting {
        let _ = done.send(match result {
            Ok(()) => Ok(()),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        });
    }
}

/// The snapshot object of a journal in a store.
const SNAPSHOT_OBJECT: &str = "manifest.json";
/// The folder of its segments.
const SEGMENTS: &str = "journal";
/// Segments fetched at once when a journal is replayed.
const REPLAY_FETCHES: usize = 32;

/// A store's snapshot: the manifest, and the first segment it does not hold.
#[derive(Serialize, Deserialize)]
struct StoreSnapshot {
    #[serde(default)]
    journal_from: u64,
    #[serde(flatten)]
    manifest: Manifest,
}

fn segment_path(state: &ObjectPath, number: u64) -> ObjectPath {
    state
        .clone()
        .join(SEGMENTS)
        .join(format!("{number:012}.jsonl").as_str())
}

/// A manifest kept in a store under `state`: its snapshot and segments, read without changing
/// anything (as `report` does), and the next free segment number.
pub(crate) async fn load_store(
    store: &dyn ObjectStore,
    state: &ObjectPath,
) -> std::io::Result<(Manifest, u64)> {
    let snapshot_path = state.clone().join(SNAPSHOT_OBJECT);
    let shown = || format!("{snapshot_path}");
    let snapshot = match store.get(&snapshot_path).await {
        Ok(got) => {
            let bytes = got.bytes().await.map_err(store_error)?;
            let mut snapshot: StoreSnapshot = serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}; move it away to start over", shown()),
                )
            })?;
            snapshot.manifest.upgrade().map_err(|e| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", shown()))
            })?;
            snapshot
        }
        Err(object_store::Error::NotFound { .. }) => StoreSnapshot {
            journal_from: 0,
            manifest: Manifest {
                version: crate::MANIFEST_VERSION,
                ..Manifest::default()
            },
        },
        Err(e) => return Err(store_error(e)),
    };
    let segments = list_segments(store, state).await?;
    let next = segments.last().map_or(snapshot.journal_from, |(n, _)| {
        (n + 1).max(snapshot.journal_from)
    });
    let mut manifest = snapshot.manifest;
    // Fetched many at a time (a restart after a long run may find thousands), applied in
    // order. One the snapshot holds already is skipped: applying it again could undo newer
    // states.
    let unheld: Vec<ObjectPath> = segments
        .into_iter()
        .filter(|(number, _)| *number >= snapshot.journal_from)
        .map(|(_, path)| path)
        .collect();
    let mut fetched = futures_util::stream::iter(unheld)
        .map(|path| fetch(store, path))
        .buffered(REPLAY_FETCHES);
    while let Some(bytes) = fetched.try_next().await? {
        apply(&bytes, &mut manifest);
    }
    Ok((manifest, next))
}

/// One object's bytes.
async fn fetch(store: &dyn ObjectStore, path: ObjectPath) -> std::io::Result<bytes::Bytes> {
    store
        .get(&path)
        .await
        .map_err(store_error)?
        .bytes()
        .await
        .map_err(store_error)
}

/// The segments of a store's journal, by number.
pub(crate) async fn list_segments(
    store: &dyn ObjectStore,
    state: &ObjectPath,
) -> std::io::Result<Vec<(u64, ObjectPath)>> {
    let prefix = state.clone().join(SEGMENTS);
    let mut segments: Vec<(u64, ObjectPath)> = store
        .list(Some(&prefix))
        .map_err(store_error)
        .try_filter_map(|meta| async move {
            let number = meta
                .location
                .filename()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .and_then(|n| n.parse::<u64>().ok());
            Ok(number.map(|n| (n, meta.location)))
        })
        .try_collect()
        .await?;
    segments.sort_by_key(|(n, _)| *n);
    Ok(segments)
}

/// Writes `manifest` as the snapshot of a store's journal, holding every segment there now,
/// and deletes them (one that survives is skipped on the next open).
pub(crate) async fn compact_store(
    store: &dyn ObjectStore,
    state: &ObjectPath,
    manifest: &Manifest,
    journal_from: u64,
) -> std::io::Result<()> {
    let segments = list_segments(store, state).await?;
    let next = segments
        .last()
        .map_or(journal_from, |(n, _)| (n + 1).max(journal_from));
    save_store(store, state, manifest, next).await?;
    for (_, segment) in segments {
        if let Err(e) = store.delete(&segment).await {
            tracing::debug!("could not delete the compacted journal segment {segment}: {e}");
        }
    }
    Ok(())
}

/// Writes `manifest` as the snapshot of a store's journal: it holds every segment before `next`.
pub(crate) async fn save_store(
    store: &dyn ObjectStore,
    state: &ObjectPath,
    manifest: &Manifest,
    next: u64,
) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(&StoreSnapshot {
        journal_from: next,
        manifest: manifest.clone(),
    })?;
    bytes.push(b'\n');
    store
        .put(
            &state.clone().join(SNAPSHOT_OBJECT),
            PutPayload::from(bytes),
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Applies the lines of a journal (a file, a segment) to `manifest`.
fn apply(bytes: &[u8], manifest: &mut Manifest) {
    for line in bytes.split(|b| *b == b'\n') {
        // A line cut short by a crash is the last one; what it recorded never happened.
        if let Ok(Line { key, entry }) = serde_json::from_slice::<Line>(line) {
            manifest.documents.insert(key, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::manifest::EntryState;

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
                    entry: ManifestEntry::queued("ab".into(), name.clone()),
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
    }

    #[tokio::test]
    async fn changes_survive_a_reopen_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, journal) = Journal::open(dir.path()).expect("opens");
        let mut entry = ManifestEntry::queued("ab".into(), "a".into());
        journal.record("a.pdf", &entry).await.expect("records");
        entry.state = EntryState::Submitting;
        journal.record("a.pdf", &entry).await.expect("records");
        journal
            .record("b.pdf", &ManifestEntry::queued("cd".into(), "b".into()))
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
}

#[cfg(test)]
mod store_tests {
    use object_store::memory::InMemory;

    use super::*;
    use crate::manifest::EntryState;

    #[tokio::test]
    async fn segments_survive_a_crash_and_a_stale_one_is_never_replayed() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("out/.kensho-extract/shard-0-of-1");
        let (_, journal) = Journal::open_store(store.clone(), state.clone())
            .await
            .expect("opens");
        let mut entry = ManifestEntry::queued("ab".into(), "a".into());
        journal.record("a.pdf", &entry).await.expect("records");
        entry.state = EntryState::Submitted;
        journal.record("a.pdf", &entry).await.expect("records");
        // A crash: no compaction, only segments.
        drop(journal);
        let segments = list_segments(store.as_ref(), &state).await.expect("lists");
        assert_eq!(segments.len(), 2, "one put per group commit");
        let stale = segments[0].1.clone();
        let stale_bytes = store
            .get(&stale)
            .await
            .expect("gets")
            .bytes()
            .await
            .expect("bytes");

        let (manifest, journal) = Journal::open_store(store.clone(), state.clone())
            .await
            .expect("reopens");
        assert_eq!(manifest.documents["a.pdf"].state, EntryState::Submitted);
        assert!(
            list_segments(store.as_ref(), &state)
                .await
                .expect("lists")
                .is_empty()
        );
        journal
            .record("b.pdf", &ManifestEntry::queued("cd".into(), "b".into()))
            .await
            .expect("records");
        drop(journal);
        // A segment whose deletion failed comes back: it is older than the snapshot, and
        // replaying it would take `a.pdf` back to queued.
        store
            .put(&stale, PutPayload::from(stale_bytes))
            .await
            .expect("puts");
        let (manifest, _) = load_store(store.as_ref(), &state).await.expect("loads");
        assert_eq!(manifest.documents["a.pdf"].state, EntryState::Submitted);
        assert_eq!(manifest.documents["b.pdf"].state, EntryState::Queued);
    }

    #[tokio::test]
    async fn many_segments_are_fetched_together_and_applied_in_order() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("out/.kensho-extract/shard-0-of-1");
        for n in 0..100u64 {
            let line = Line {
                key: "a.pdf".into(),
                entry: ManifestEntry::queued("ab".into(), format!("n{n}")),
            };
            let mut bytes = serde_json::to_vec(&line).expect("json");
            bytes.push(b'\n');
            store
                .put(&segment_path(&state, n), PutPayload::from(bytes))
                .await
                .expect("puts");
        }
        let (manifest, next) = load_store(store.as_ref(), &state).await.expect("loads");
        assert_eq!(manifest.documents["a.pdf"].name.as_deref(), Some("n99"));
        assert_eq!(next, 100);
    }

    #[tokio::test]
    async fn a_long_run_snapshots_as_it_goes_so_a_restart_replays_few_segments() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("out/.kensho-extract/shard-0-of-1");
        let (mut manifest, journal) = Journal::open_store(store.clone(), state.clone())
            .await
            .expect("opens");
        // One record at a time: one segment each, as a slow batch writes them.
        for n in 0..600u32 {
            let key = format!("doc-{}.pdf", n % 10);
            let entry = ManifestEntry::queued(format!("{n}"), format!("doc-{}", n % 10));
            journal.record(&key, &entry).await.expect("records");
            manifest.documents.insert(key, entry);
            journal.snapshot_if_due(&manifest).await;
        }
        let left = list_segments(store.as_ref(), &state)
            .await
            .expect("lists")
            .len() as u64;
        assert!(left <= SNAPSHOT_EVERY, "{left} segments left to replay");
        // A crash now: what a restart reads is what was recorded.
        drop(journal);
        let (loaded, next) = load_store(store.as_ref(), &state).await.expect("loads");
        assert_eq!(loaded.documents, manifest.documents);
        assert_eq!(next, 600);
    }
}
