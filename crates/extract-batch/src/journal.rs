//! The manifest's journal: every change to an entry appended as one JSON line, so a batch of N
//! documents writes O(N) bytes (rewriting the whole manifest after every step wrote O(N²)).
//!
//! **Records group.** A caller hands its line to the writer and awaits its durability without
//! holding any lock across the write; the writer takes every line waiting (and, for a moment,
//! those about to arrive) and makes them durable together: one `fsync` for a file, one object
//! PUT for a store. The runner still acts only once its record is durable: a `submitting`
//! record is on disk before the submission leaves.
//!
//! **Files.** On open, the snapshot and the journal are read, a torn last line (a crash
//! mid-write) is ignored, and the two are compacted into a new snapshot.
//!
//! **Stores** cannot append: there each group of lines is a new object, a numbered segment
//! (`journal/<generation>-<number>.jsonl`; a put is atomic, so a segment is whole or absent,
//! and it is created only if absent). On open, the snapshot and the segments after the point
//! it names are read in order, and a new snapshot is written that names the first segment it
//! does not hold; the old segments are then deleted. A segment that survives its deletion is
//! never replayed over newer states.
//!
//! **Fencing.** A store journal is written under a lease of some generation ([`crate::fence`]).
//! Every write first asks the fence. Beyond that check, the snapshot is replaced only by a
//! compare-and-swap on the ETag its writer last saw, and a new holder's first act is to write
//! one: a worker that lost its lease can no longer replace the snapshot, and the segments it
//! might still write carry its old generation, which sorts before the point the new holder's
//! snapshot names, so no reader ever applies them.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::fence::Fence;
use crate::input::store_error;
use crate::{Manifest, ManifestEntry};

/// The journal's file name inside the output directory.
pub const JOURNAL_FILE: &str = ".kensho-extract-journal.jsonl";

/// One line of the journal: an entry as it is after a change.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    entry: ManifestEntry,
}

/// A line handed to the writer: the entry (a store's writer keeps its own copy of the
/// manifest for snapshots), its bytes, and who waits for it.
struct Pending {
    key: String,
    entry: ManifestEntry,
    bytes: Vec<u8>,
    done: oneshot::Sender<std::io::Result<()>>,
}

/// How long a writer waits after the first line of a group for more to join it. Lines come
/// from documents whose jobs take seconds, so a few milliseconds cost nothing and make the
/// groups, and so the `fsync`s and PUTs, several times fewer.
const LOCAL_LINGER: Duration = Duration::from_millis(10);
const STORE_LINGER: Duration = Duration::from_millis(40);
/// The most lines in one group: a bound on one segment's size.
const MAX_GROUP: usize = 4096;

/// What a journal has written: its bytes, lines and durable writes (`fsync`s or PUTs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalStats {
    /// Bytes appended.
    pub bytes: u64,
    /// Lines (records) appended.
    pub records: u64,
    /// Durable writes that carried them: `fsync`s of the file, or segment PUTs.
    pub commits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    bytes: AtomicU64,
    records: AtomicU64,
    commits: AtomicU64,
}

impl Counters {
    fn committed(&self, records: usize, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
        self.commits.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where the writer's lines go.
enum Sender {
    Local(std::sync::mpsc::Sender<Pending>),
    Store(tokio::sync::mpsc::UnboundedSender<Pending>),
}

/// Appends entries to a manifest's journal from any task.
pub struct Journal {
    sender: Sender,
    counters: Arc<Counters>,
    /// The writer: joined when the journal is finished, so every line is written first.
    writer: Writer,
    /// For a journal in a store: where, under which fence, and the snapshot's version.
    store: Option<Arc<StoreJournal>>,
}

enum Writer {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<Manifest>),
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

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
        let (sender, receiver) = std::sync::mpsc::channel::<Pending>();
        let counters = Arc::new(Counters::default());
        let counted = counters.clone();
        let writer = std::thread::Builder::new()
            .name("kensho-extract-journal".into())
            .spawn(move || write_lines(file, path, receiver, &counted))?;
        Ok((
            manifest,
            Journal {
                sender: Sender::Local(sender),
                counters,
                writer: Writer::Thread(writer),
                store: None,
            },
        ))
    }

    /// Loads the manifest kept in `store` under `state`, compacts it into a new snapshot, and
    /// writes this run's changes as new segments there. Without a lease: for one writer that
    /// is known to be alone (a run takes the shard's lease and opens it fenced).
    pub async fn open_store(
        store: Arc<dyn ObjectStore>,
        state: ObjectPath,
    ) -> std::io::Result<(Manifest, Journal)> {
        Self::open_fenced(store, state, Fence::unbounded("")).await
    }

    /// [`open_store`](Self::open_store) under `fence`: its generation names the segments, and
    /// nothing is written once it is closed.
    pub(crate) async fn open_fenced(
        store: Arc<dyn ObjectStore>,
        state: ObjectPath,
        fence: Fence,
    ) -> std::io::Result<(Manifest, Journal)> {
        Self::open_with(store, state, fence, STORE_LINGER).await
    }

    /// [`open_fenced`](Self::open_fenced), with the writer's linger (tests write one line at a
    /// time).
    pub(crate) async fn open_with(
        store: Arc<dyn ObjectStore>,
        state: ObjectPath,
        fence: Fence,
        linger: Duration,
    ) -> std::io::Result<(Manifest, Journal)> {
        let loaded = load_store(store.as_ref(), &state).await?;
        let generation = fence.generation().max(loaded.from.generation);
        // Segments of a newer generation: another worker took this shard over since.
        let start = match loaded.next.generation.cmp(&generation) {
            std::cmp::Ordering::Greater => {
                fence.lose("was taken over by another worker (newer journal segments)");
                return Err(std::io::Error::other(
                    "another worker has written this shard's journal under a newer lease",
                ));
            }
            std::cmp::Ordering::Equal => loaded.next,
            std::cmp::Ordering::Less => SegmentId {
                generation,
                number: 0,
            },
        };
        let journal = Arc::new(StoreJournal {
            store,
            state,
            fence,
            linger,
            snapshot: tokio::sync::Mutex::new(loaded.snapshot_version.clone()),
        });
        // This generation's first act: a snapshot holding everything before it.
        journal.compact(&loaded.manifest, start).await?;
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<Pending>();
        let counters = Arc::new(Counters::default());
        let writer = tokio::spawn(journal.clone().write_segments(
            receiver,
            counters.clone(),
            loaded.manifest.clone(),
            start,
        ));
        Ok((
            loaded.manifest,
            Journal {
                sender: Sender::Store(sender),
                counters,
                writer: Writer::Task(writer),
                store: Some(journal),
            },
        ))
    }

    /// Hands `entry`, the new state of `key`, to the writer; the returned future resolves once
    /// it is durable. The line is queued when this is called, not when the future is first
    /// polled: a caller that queues under its own lock keeps its lines in that lock's order
    /// and need not hold the lock while the line is written.
    pub fn queue(
        &self,
        key: &str,
        entry: &ManifestEntry,
    ) -> impl Future<Output = std::io::Result<()>> + Send + 'static + use<> {
        let queued = self.queue_now(key, entry);
        async move { queued?.await.map_err(|_| stopped())? }
    }

    fn queue_now(
        &self,
        key: &str,
        entry: &ManifestEntry,
    ) -> std::io::Result<oneshot::Receiver<std::io::Result<()>>> {
        let mut bytes = serde_json::to_vec(&Line {
            key: key.to_string(),
            entry: entry.clone(),
        })?;
        bytes.push(b'\n');
        let (done, durable) = oneshot::channel();
        let pending = Pending {
            key: key.to_string(),
            entry: entry.clone(),
            bytes,
            done,
        };
        let sent = match &self.sender {
            Sender::Local(sender) => sender.send(pending).is_ok(),
            Sender::Store(sender) => sender.send(pending).is_ok(),
        };
        if sent { Ok(durable) } else { Err(stopped()) }
    }

    /// Appends `entry` as the state of `key`, returning once it is durable.
    pub async fn record(&self, key: &str, entry: &ManifestEntry) -> std::io::Result<()> {
        self.queue(key, entry).await
    }

    /// Bytes appended so far.
    pub fn bytes_written(&self) -> u64 {
        self.counters.bytes.load(Ordering::Relaxed)
    }

    /// Bytes, lines and durable writes so far.
    pub fn stats(&self) -> JournalStats {
        JournalStats {
            bytes: self.counters.bytes.load(Ordering::Relaxed),
            records: self.counters.records.load(Ordering::Relaxed),
            commits: self.counters.commits.load(Ordering::Relaxed),
        }
    }

    /// Ends the run's journal: waits for every line queued to be written, then compacts
    /// everything into a new snapshot (`manifest` for a file; for a store, the copy its writer
    /// kept of what it wrote).
    pub(crate) async fn finish(
        self,
        manifest: Manifest,
        dir: Option<PathBuf>,
    ) -> std::io::Result<()> {
        let Journal {
            sender,
            writer,
            store,
            ..
        } = self;
        drop(sender);
        match (writer, store) {
            (Writer::Thread(thread), _) => tokio::task::spawn_blocking(move || {
                let _ = thread.join();
                match dir {
                    Some(dir) => manifest.save(&dir),
                    None => Ok(()),
                }
            })
            .await
            .map_err(std::io::Error::other)?,
            (Writer::Task(task), Some(journal)) => {
                let written = task.await.map_err(std::io::Error::other)?;
                journal.fence.check().map_err(std::io::Error::other)?;
                let segments = list_segments(journal.store.as_ref(), &journal.state).await?;
                let next = segments
                    .last()
                    .map_or(SegmentId::default(), |(id, _)| id.after());
                journal
                    .compact(
                        &written,
                        next.max(SegmentId {
                            generation: journal.fence.generation(),
                            number: 0,
                        }),
                    )
                    .await
            }
            (Writer::Task(_), None) => Ok(()),
        }
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the journal's writer has stopped")
}

/// The file writer: takes every line waiting (and those arriving within [`LOCAL_LINGER`]),
/// writes them, syncs once, answers each.
fn write_lines(
    mut file: File,
    path: PathBuf,
    receiver: std::sync::mpsc::Receiver<Pending>,
    counters: &Counters,
) {
    while let Ok(first) = receiver.recv() {
        let deadline = Instant::now() + LOCAL_LINGER;
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let bytes: Vec<u8> = group.iter().flat_map(|p| p.bytes.iter().copied()).collect();
        let result = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        if result.is_ok() {
            counters.committed(group.len(), bytes.len());
        }
        answer(group, &result);
    }
}

/// Tells every waiter how its lines fared.
fn answer(group: Vec<Pending>, result: &std::io::Result<()>) {
    for pending in group {
        let _ = pending.done.send(match result {
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
/// A store journal takes a new snapshot once it has written this many segments since the last
/// one, or half as many as the manifest has documents if that is more: a restart after a
/// long run replays a bounded number of segments, and the snapshots of a run cost O(N) bytes
/// in all.
const SNAPSHOT_EVERY: u64 = 256;

/// A segment's place in the journal: its writer's lease generation, then its number. Segments
/// apply in this order; a snapshot holds every segment before the one it names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct SegmentId {
    generation: u64,
    number: u64,
}

impl SegmentId {
    fn after(self) -> SegmentId {
        SegmentId {
            generation: self.generation,
            number: self.number.saturating_add(1),
        }
    }

    fn file_name(self) -> String {
        format!("{:010}-{:012}.jsonl", self.generation, self.number)
    }

    /// The id a segment's file name gives: `<generation>-<number>.jsonl`, or (written before
    /// generations) `<number>.jsonl`, generation 0.
    fn parse(name: &str) -> Option<SegmentId> {
        let stem = name.strip_suffix(".jsonl")?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match stem.split_once('-') {
            Some((generation, number)) if all_digits(generation) && all_digits(number) => {
                Some(SegmentId {
                    generation: generation.parse().ok()?,
                    number: number.parse().ok()?,
                })
            }
            None if all_digits(stem) => Some(SegmentId {
                generation: 0,
                number: stem.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// A store's snapshot: the manifest, and the first segment it does not hold.
#[derive(Serialize, Deserialize)]
struct StoreSnapshot {
    #[serde(default)]
    journal_from: u64,
    #[serde(default)]
    generation: u64,
    #[serde(flatten)]
    manifest: Manifest,
}

fn segment_path(state: &ObjectPath, id: SegmentId) -> ObjectPath {
    state.clone().join(SEGMENTS).join(id.file_name().as_str())
}

/// A store journal's place and its writer's fence.
struct StoreJournal {
    store: Arc<dyn ObjectStore>,
    state: ObjectPath,
    fence: Fence,
    /// How long the writer waits for more lines after the first of a group.
    linger: Duration,
    /// The snapshot's version as this writer last wrote or read it (`None`: there is none),
    /// which its next write must match.
    snapshot: tokio::sync::Mutex<Option<UpdateVersion>>,
}

impl StoreJournal {
    /// The store writer: takes every line waiting (and those arriving within
    /// [`STORE_LINGER`]), writes them as one new segment, answers each, and takes a snapshot
    /// when one is due. Returns its copy of the manifest: everything it wrote.
    async fn write_segments(
        self: Arc<Self>,
        mut receiver: tokio::sync::mpsc::UnboundedReceiver<Pending>,
        counters: Arc<Counters>,
        mut written: Manifest,
        mut next: SegmentId,
    ) -> Manifest {
        let mut snapshot_lacks = next;
        while let Some(first) = receiver.recv().await {
            let deadline = tokio::time::Instant::now() + self.linger;
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(next)) => group.push(next),
                    _ => break,
                }
            }
            let bytes: Vec<u8> = group.iter().flat_map(|p| p.bytes.iter().copied()).collect();
            let len = bytes.len();
            let result = self.put_segment(next, bytes).await;
            if result.is_ok() {
                counters.committed(group.len(), len);
                next = next.after();
                for pending in &group {
                    written
                        .documents
                        .insert(pending.key.clone(), pending.entry.clone());
                }
            }
            answer(group, &result);
            let since = next.number.saturating_sub(snapshot_lacks.number);
            let due = SNAPSHOT_EVERY.max(written.documents.len() as u64 / 2);
            if since >= due {
                match self.compact(&written, next).await {
                    Ok(()) => snapshot_lacks = next,
                    Err(e) => tracing::warn!("could not write the manifest's snapshot: {e}"),
                }
            }
        }
        written
    }

    /// Writes one segment, if the fence allows; never over an existing one.
    async fn put_segment(&self, id: SegmentId, bytes: Vec<u8>) -> std::io::Result<()> {
        self.fence.check().map_err(std::io::Error::other)?;
        let path = segment_path(&self.state, id);
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(bytes);
        let created = self.store.put_opts(&path, payload.clone(), options).await;
        match created {
            Ok(_) => Ok(()),
            // A store that cannot create conditionally still writes whole objects.
            Err(object_store::Error::NotImplemented { .. }) => self
                .store
                .put(&path, payload)
                .await
                .map(drop)
                .map_err(store_error),
            Err(e) => {
                let e = store_error(e);
                Err(std::io::Error::new(e.kind(), format!("{path}: {e}")))
            }
        }
    }

    /// Writes `manifest` as the snapshot, holding every segment before `next`, by a
    /// compare-and-swap on the snapshot this writer last saw; then deletes this generation's
    /// segments (and older ones) that it holds. A writer whose fence is closed, or whose
    /// snapshot was replaced by another, writes and deletes nothing.
    async fn compact(&self, manifest: &Manifest, next: SegmentId) -> std::io::Result<()> {
        let mut version = self.snapshot.lock().await;
        self.fence.check().map_err(std::io::Error::other)?;
        let mut bytes = serde_json::to_vec_pretty(&StoreSnapshot {
            journal_from: next.number,
            generation: next.generation,
            manifest: manifest.clone(),
        })?;
        bytes.push(b'\n');
        let path = self.state.clone().join(SNAPSHOT_OBJECT);
        let mode = match (version.clone(), self.fence.enforced()) {
            (_, false) => PutMode::Overwrite,
            (Some(v), true) => PutMode::Update(v),
            (None, true) => PutMode::Create,
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let put = self
            .store
            .put_opts(&path, PutPayload::from(bytes.clone()), options)
            .await;
        let result = match put {
            Ok(result) => result,
            Err(object_store::Error::NotImplemented { .. }) => self
                .store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(store_error)?,
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => {
                self.fence
                    .lose("was taken over by another worker (the snapshot changed)");
                return Err(std::io::Error::other(
                    "the manifest's snapshot was replaced by another worker",
                ));
            }
            Err(e) => return Err(store_error(e)),
        };
        *version = Some(UpdateVersion {
            e_tag: result.e_tag,
            version: result.version,
        });
        drop(version);
        let held: Vec<ObjectPath> = list_segments(self.store.as_ref(), &self.state)
            .await?
            .into_iter()
            .filter(|(id, _)| *id < next)
            .map(|(_, path)| path)
            .collect();
        // Many at a time; one left behind is skipped on replay (the snapshot names `next`).
        let store = self.store.as_ref();
        let mut deleted = futures_util::stream::iter(held)
            .map(|path| async move {
                if let Err(e) = store.delete(&path).await {
                    tracing::debug!("could not delete the compacted journal segment {path}: {e}");
                }
            })
            .buffer_unordered(REPLAY_FETCHES);
        while deleted.next().await.is_some() {}
        Ok(())
    }
}

/// A manifest kept in a store, as [`load_store`] reads it.
pub(crate) struct Loaded {
    pub(crate) manifest: Manifest,
    /// The first segment the snapshot does not hold.
    from: SegmentId,
    /// The first segment id after every segment there.
    next: SegmentId,
    snapshot_version: Option<UpdateVersion>,
}

/// A manifest kept in a store under `state`: its snapshot and the segments it does not hold,
/// read without changing anything (as `report` does).
pub(crate) async fn load_store(
    store: &dyn ObjectStore,
    state: &ObjectPath,
) -> std::io::Result<Loaded> {
    let snapshot_path = state.clone().join(SNAPSHOT_OBJECT);
    let shown = || format!("{snapshot_path}");
    let (snapshot, snapshot_version) = match store.get(&snapshot_path).await {
        Ok(got) => {
            let version = UpdateVersion {
                e_tag: got.meta.e_tag.clone(),
                version: got.meta.version.clone(),
            };
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
            (snapshot, Some(version))
        }
        Err(object_store::Error::NotFound { .. }) => (
            StoreSnapshot {
                journal_from: 0,
                generation: 0,
                manifest: Manifest {
                    version: crate::MANIFEST_VERSION,
                    ..Manifest::default()
                },
            },
            None,
        ),
        Err(e) => return Err(store_error(e)),
    };
    let from = SegmentId {
        generation: snapshot.generation,
        number: snapshot.journal_from,
    };
    let segments = list_segments(store, state).await?;
    let next = segments.last().map_or(from, |(id, _)| id.after().max(from));
    let mut manifest = snapshot.manifest;
    // Fetched many at a time (a restart after a long run may find thousands), applied in
    // order. One the snapshot holds already (or one a fenced-off worker wrote late, whose
    // generation sorts before the snapshot's) is skipped: applying it could undo newer states.
    let unheld: Vec<ObjectPath> = segments
        .into_iter()
        .filter(|(id, _)| *id >= from)
        .map(|(_, path)| path)
        .collect();
    let mut fetched = futures_util::stream::iter(unheld)
        .map(|path| fetch(store, path))
        .buffered(REPLAY_FETCHES);
    while let Some(bytes) = fetched.try_next().await? {
        apply(&bytes, &mut manifest);
    }
    Ok(Loaded {
        manifest,
        from,
        next,
        snapshot_version,
    })
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

/// The segments of a store's journal, in order.
pub(crate) async fn list_segments(
    store: &dyn ObjectStore,
    state: &ObjectPath,
) -> std::io::Result<Vec<(SegmentId, ObjectPath)>> {
    let prefix = state.clone().join(SEGMENTS);
    let mut segments: Vec<(SegmentId, ObjectPath)> = store
        .list(Some(&prefix))
        .map_err(store_error)
        .try_filter_map(|meta| async move {
            let id = meta.location.filename().and_then(SegmentId::parse);
            Ok(id.map(|id| (id, meta.location)))
        })
        .try_collect()
        .await?;
    segments.sort_by_key(|(id, _)| *id);
    Ok(segments)
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
mod tests;
