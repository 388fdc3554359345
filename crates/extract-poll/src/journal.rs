//! The manifest's journal: every change to an entry appended as one JSON line, so a batch of N
//! documents writes O(N) bytes (rewriting the whole manifest after every step wrote O(N²)).
//!
//! Lines are written and synced on a thread of their own, never on the async runtime; many
//! changes that arrive together share one `fsync` (group commit). A caller awaits its line's
//! sync, so a `submitting` record is on disk before the submission leaves. On open, the
//! snapshot and the journal are read, a torn last line (a crash mid-write) is ignored, and the
//! two are compacted into a new snapshot.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

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
    sender: std::sync::mpsc::Sender<Pending>,
    written: Arc<AtomicU64>,
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
        let line = line?;
        // A line cut short by a crash is the last one; what it recorded never happened.
        if let Ok(Line { key, entry }) = serde_json::from_slice::<Line>(&line) {
            manifest.documents.insert(key, entry);
        }
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
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        std::thread::Builder::new()
            .name("kensho-extract-journal".into())
            .spawn(move || write_lines(file, path, receiver, counter))?;
        Ok((manifest, Journal { sender, written }))
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
    receiver: std::sync::mpsc::Receiver<Pending>,
    written: Arc<AtomicU64>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        batch.extend(receiver.try_iter());
        let bytes: Vec<u8> = batch
            .iter()
            .flat_map(|(line, _)| line.iter().copied())
            .collect();
        let result = file
            .write_all(&bytes)
            .and_then(|()| file.sync_data())
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())));
        if result.is_ok() {
            written.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        for (_, done) in batch {
            let _ = done.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            });
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
