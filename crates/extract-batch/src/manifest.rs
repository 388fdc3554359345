//! The batch manifest: what was submitted for which input, kept in the output directory so a
//! re-run resumes instead of resubmitting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use extract_api::RetrievalMode;
use serde::{Deserialize, Serialize};

/// The manifest's file name inside the output directory.
pub const MANIFEST_FILE: &str = ".kensho-extract-manifest.json";

/// The manifest format this version writes. Version 1 (no output names) is read and upgraded;
/// a newer one is refused rather than misread.
pub const MANIFEST_VERSION: u32 = 2;

/// Where one input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryState {
    /// Known and named, not yet submitted.
    Queued,
    /// A submission was started; if no request id follows, its outcome is unknown.
    Submitting,
    /// Submitted; waiting for the service.
    Submitted,
    /// Done; the outputs are written.
    Succeeded,
    /// Failed on the service side, or refused.
    Failed,
}

/// One input's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestEntry {
    /// SHA-256 of the input's content, hex: a changed file is a new document.
    pub sha256: String,
    /// Where the input is in its life.
    pub state: EntryState,
    /// The request id, once the service gave one.
    pub request_id: Option<String>,
    /// The retrieval mode of that request.
    pub mode: Option<RetrievalMode>,
    /// Submissions whose outcome was unknown (a 5xx, a dropped connection, a crash), each
    /// followed by a new submission: the service may hold a job for each of them.
    #[serde(default)]
    pub unknown_outcomes: Vec<String>,
    /// The service's error, for failed inputs.
    pub error: Option<String>,
    /// The files written for it.
    #[serde(default)]
    pub outputs: Vec<PathBuf>,
    /// The name its outputs take (`<name>.json`, …): once given to an input it stays that
    /// input's, so another input never overwrites its files.
    #[serde(default)]
    pub name: Option<String>,
    /// A document sent in page ranges (`split_pages`): each part's pages and request, so a
    /// re-run resumes the parts in flight instead of sending them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartEntry>,
    /// Pages in its output document (pages with content), once written: `report` sums them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// When the entry last changed, in milliseconds since the Unix epoch (the worker's clock):
    /// `report` reads how fast each shard goes from it. Absent in manifests of earlier
    /// versions, and only a hint: a clock from another machine may be off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_ms: Option<u64>,
}

/// One page range of a document sent in parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartEntry {
    /// The pages, such as `16-30`.
    pub pages: String,
    /// Its request, once the service gave one.
    pub request_id: Option<String>,
    /// That request's retrieval mode.
    pub mode: Option<RetrievalMode>,
}

impl ManifestEntry {
    /// A new input, named, not yet submitted.
    pub fn queued(sha256: String, name: String) -> ManifestEntry {
        ManifestEntry {
            sha256,
            state: EntryState::Queued,
            request_id: None,
            mode: None,
            unknown_outcomes: vec![],
            error: None,
            outputs: vec![],
            name: Some(name),
            parts: vec![],
            pages: None,
            changed_ms: None,
        }
    }

    /// Marks the entry as changed now.
    pub(crate) fn touch(&mut self) {
        self.changed_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_millis()).ok());
    }
}

/// Every input of a batch, keyed by its path as given ([`input_key`]: lossless, so two file
/// names that differ only in bytes that are not UTF-8 stay two inputs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// The format version.
    pub version: u32,
    /// The inputs.
    pub documents: BTreeMap<String, ManifestEntry>,
}

impl Manifest {
    /// Reads the manifest of `dir`, or an empty one if there is none yet.
    pub fn load(dir: &Path) -> std::io::Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let invalid = |what: String| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {what}", path.display()),
            )
        };
        let mut manifest: Manifest = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| invalid(format!("{e}; move it away to start over")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                ));
            }
        };
        manifest.upgrade().map_err(invalid)?;
        // Changes since the snapshot.
        crate::journal::replay(dir, &mut manifest)?;
        Ok(manifest)
    }

    /// Brings a manifest read from disk to this version's format; refuses a newer one.
    pub(crate) fn upgrade(&mut self) -> Result<(), String> {
        match self.version {
            0 => self.version = MANIFEST_VERSION,
            1 => {
                // Version 1 had no names: an input's name is the stem of its JSON output.
                for entry in self.documents.values_mut() {
                    entry.name = entry
                        .outputs
                        .iter()
                        .find(|o| o.extension().is_some_and(|e| e == "json"))
                        .and_then(|o| o.file_stem())
                        .map(|s| s.to_string_lossy().into_owned());
                }
                self.version = MANIFEST_VERSION;
            }
            MANIFEST_VERSION => {}
            newer => {
                return Err(format!(
                    "manifest version {newer} was written by a newer version (this one reads up to {MANIFEST_VERSION}); use that version, or move the file away to start over"
                ));
            }
        }
        Ok(())
    }

    /// Writes the manifest atomically (a temporary file, then a rename) as the new snapshot,
    /// and empties the journal, whose changes it now holds.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        // The snapshot is durable (its folder synced) before the journal it replaces is emptied:
        // otherwise a power cut could lose both.
        extract_fs::write_atomic(
            &dir.join(MANIFEST_FILE),
            extract_fs::Replace::Yes,
            None,
            |out| {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            },
        )?;
        let journal = dir.join(crate::journal::JOURNAL_FILE);
        if journal.exists() {
            std::fs::File::create(&journal)?;
        }
        Ok(())
    }
}

/// The manifest key of an input path: the path itself when it is UTF-8; otherwise a NUL (which
/// no path holds) and the path's bytes in hex, so no two paths share a key.
pub fn input_key(path: &Path) -> String {
    match path.to_str() {
        Some(text) => text.to_string(),
        None => {
            let bytes = path.as_os_str().as_encoded_bytes();
            let hex = crate::hex(bytes);
            format!("\0bytes:{hex}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            Manifest::load(dir.path()).expect("empty").documents.len(),
            0
        );
        let mut manifest = Manifest::load(dir.path()).expect("empty");
        manifest.documents.insert(
            "a.pdf".into(),
            ManifestEntry {
                sha256: "ab".into(),
                state: EntryState::Submitted,
                request_id: Some("id".into()),
                mode: Some(RetrievalMode::Inline),
                unknown_outcomes: vec![],
                error: None,
                outputs: vec![],
                name: Some("a".into()),
                parts: vec![PartEntry {
                    pages: "1-15".into(),
                    request_id: Some("part".into()),
                    mode: Some(RetrievalMode::Inline),
                }],
                pages: Some(15),
                changed_ms: Some(1_800_000_000_000),
            },
        );
        manifest.save(dir.path()).expect("saves");
        assert_eq!(Manifest::load(dir.path()).expect("loads"), manifest);
        std::fs::write(dir.path().join(MANIFEST_FILE), "{broken").expect("writes");
        assert!(
            Manifest::load(dir.path())
                .expect_err("broken")
                .to_string()
                .contains("move it away")
        );
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            r#"{"version": 9, "documents": {}}"#,
        )
        .expect("writes");
        let newer = Manifest::load(dir.path()).expect_err("newer").to_string();
        assert!(
            newer.contains("version 9") && newer.contains("newer"),
            "{newer}"
        );
    }

    #[test]
    fn version_1_manifests_are_upgraded_with_their_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            r#"{"version": 1, "documents": {"in/x.pdf": {"sha256": "ab", "state": "succeeded", "request_id": null, "mode": null, "error": null, "outputs": ["out/x.json", "out/x.md"]}}}"#,
        )
        .expect("writes");
        let manifest = Manifest::load(dir.path()).expect("loads");
        assert_eq!(manifest.version, MANIFEST_VERSION);
        assert_eq!(manifest.documents["in/x.pdf"].name.as_deref(), Some("x"));
    }

    #[cfg(unix)]
    mod properties {
        use std::os::unix::ffi::OsStrExt;

        use proptest::prelude::*;

        use super::super::input_key;

        proptest! {
            /// Two different file names never share a manifest key.
            #[test]
            fn keys_are_lossless(
                a in prop::collection::vec(1u8..=255, 1..12),
                b in prop::collection::vec(1u8..=255, 1..12),
            ) {
                let key = |bytes: &[u8]| input_key(std::path::Path::new(std::ffi::OsStr::from_bytes(bytes)));
                prop_assert_eq!(a == b, key(&a) == key(&b));
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn keys_keep_every_byte_of_a_file_name() {
        use std::os::unix::ffi::OsStrExt;
        let a = Path::new(std::ffi::OsStr::from_bytes(b"r\xffe.pdf"));
        let b = Path::new(std::ffi::OsStr::from_bytes(b"r\xfee.pdf"));
        assert_ne!(input_key(a), input_key(b));
        assert_eq!(input_key(Path::new("dir/r.pdf")), "dir/r.pdf");
        assert!(input_key(a).starts_with('\0'));
    }
}
