//! The batch manifest: what was submitted for which input, kept in the output directory so a
//! re-run resumes instead of resubmitting.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use extract_api::RetrievalMode;
use serde::{Deserialize, Serialize};

/// The manifest's file name inside the output directory.
pub const MANIFEST_FILE: &str = ".kensho-extract-manifest.json";

/// Where one input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
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
}

/// Every input of a batch, keyed by its path as given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format version.
    pub version: u32,
    /// The inputs.
    pub documents: BTreeMap<String, ManifestEntry>,
}

impl Manifest {
    /// Reads the manifest of `dir`, or an empty one if there is none yet.
    pub fn load(dir: &Path) -> std::io::Result<Manifest> {
        match std::fs::read(dir.join(MANIFEST_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}: {e}; move it away to start over",
                        dir.join(MANIFEST_FILE).display()
                    ),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest {
                version: 1,
                ..Manifest::default()
            }),
            Err(e) => Err(e),
        }
    }

    /// Writes the manifest atomically (a temporary file, then a rename).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let mut file = tempfile::Builder::new()
            .prefix(".manifest-")
            .tempfile_in(dir)?;
        serde_json::to_writer_pretty(&mut file, self)?;
        file.write_all(b"\n")?;
        file.as_file().sync_all()?;
        file.persist(dir.join(MANIFEST_FILE)).map_err(|e| e.error)?;
        Ok(())
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
    }
}
