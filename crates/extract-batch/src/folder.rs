//! The output folder of a batch, on this machine or in an object store: where outputs are
//! written whole, and where each shard keeps its manifest and journal.
//!
//! Layout: a run without shards on a local folder keeps its manifest beside the outputs, as it
//! always has. A shard (and any run into a store) keeps its own under
//! `.kensho-extract/shard-I-of-N/`, so shards never contend for a file and `report` finds them
//! all.

use std::path::{Path, PathBuf};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::input::store_error;
use crate::journal;
use crate::manifest::Manifest;
use crate::place::{Place, StorePrefix};
use crate::shard::Shard;

/// The folder (under the output folder) that holds the shards' manifests.
pub const STATE_DIR: &str = ".kensho-extract";

/// Where a run writes.
#[derive(Debug, Clone)]
pub(crate) enum OutputFolder {
    Local { dir: PathBuf, state: PathBuf },
    Store { at: StorePrefix, state: ObjectPath },
}

impl OutputFolder {
    /// The folder at `location`, with the manifest of `shard` (or of the whole run).
    pub(crate) fn new(location: &Place, shard: Option<Shard>) -> OutputFolder {
        let shard_dir = shard.unwrap_or_else(Shard::whole).dir_name();
        match location {
            Place::Local(dir) => OutputFolder::Local {
                dir: dir.clone(),
                state: match shard {
                    Some(_) => dir.join(STATE_DIR).join(&shard_dir),
                    None => dir.clone(),
                },
            },
            Place::Store(at) => OutputFolder::Store {
                state: at.child(&format!("{STATE_DIR}/{shard_dir}")),
                at: at.clone(),
            },
        }
    }

    /// Where the manifest is, as shown to a person: its file, or its folder in a store.
    pub(crate) fn manifest_shown(&self) -> String {
        match self {
            OutputFolder::Local { state, .. } => {
                state.join(crate::MANIFEST_FILE).display().to_string()
            }
            OutputFolder::Store { at, state } => at.url_of(&at.relative(state).unwrap_or_default()),
        }
    }

    /// The output file `name` (such as `a.json`, or `2024/a.json`): its path, or its URL.
    pub(crate) fn shown(&self, name: &str) -> PathBuf {
        match self {
            OutputFolder::Local { dir, .. } => dir.join(name),
            OutputFolder::Store { at, .. } => PathBuf::from(at.url_of(name)),
        }
    }

    /// Whether this is a store (names are then mirrored, see [`crate::name::mirror_name`]).
    pub(crate) fn is_store(&self) -> bool {
        matches!(self, OutputFolder::Store { .. })
    }

    /// The manifest as it stands, read without changing anything (an empty one where none
    /// is yet).
    pub(crate) async fn read_manifest(&self) -> std::io::Result<Manifest> {
        match self {
            OutputFolder::Local { state, .. } => {
                let state = state.clone();
                tokio::task::spawn_blocking(move || Manifest::load(&state))
                    .await
                    .map_err(std::io::Error::other)?
            }
            OutputFolder::Store { at, state } => Ok(journal::load_store(at.store.as_ref(), state)
                .await?
                .manifest),
        }
    }

    /// A local folder's state directory, where its manifest's snapshot is written at the end
    /// of a run (`None` for a store, whose journal compacts itself).
    pub(crate) fn local_state(&self) -> Option<PathBuf> {
        match self {
            OutputFolder::Local { state, .. } => Some(state.clone()),
            OutputFolder::Store { .. } => None,
        }
    }

    /// Whether the output file `name` is there.
    pub(crate) async fn exists(&self, name: &str) -> bool {
        match self {
            OutputFolder::Local { dir, .. } => dir.join(name).is_file(),
            OutputFolder::Store { at, .. } => at.store.head(&at.child(name)).await.is_ok(),
        }
    }

    /// The output file `name`'s bytes.
    pub(crate) async fn read(&self, name: &str) -> std::io::Result<Vec<u8>> {
        match self {
            OutputFolder::Local { dir, .. } => {
                let path = dir.join(name);
                tokio::task::spawn_blocking(move || std::fs::read(path))
                    .await
                    .map_err(std::io::Error::other)?
            }
            OutputFolder::Store { at, .. } => {
                let got = at.store.get(&at.child(name)).await.map_err(store_error)?;
                Ok(got.bytes().await.map_err(store_error)?.to_vec())
            }
        }
    }

    /// Writes the output file `name` whole: a local file through a synced temporary file and a
    /// rename, an object by one put (atomic). Without `replace`, a file or object already there
    /// is never replaced.
    pub(crate) async fn write(
        &self,
        name: &str,
        bytes: Vec<u8>,
        replace: bool,
    ) -> std::io::Result<()> {
        match self {
            OutputFolder::Local { dir, .. } => {
                let path = dir.join(name);
                tokio::task::spawn_blocking(move || {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    write_file(&path, &bytes, replace)
                })
                .await
                .map_err(std::io::Error::other)?
            }
            OutputFolder::Store { at, .. } => {
                let mode = if replace {
                    PutMode::Overwrite
                } else {
                    PutMode::Create
                };
                let options = PutOptions {
                    mode,
                    ..PutOptions::default()
                };
                match at
                    .store
                    .put_opts(&at.child(name), PutPayload::from(bytes), options)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(object_store::Error::AlreadyExists { .. }) => Err(foreign()),
                    Err(object_store::Error::Precondition { .. }) => Err(foreign()),
                    Err(e) => Err(store_error(e)),
                }
            }
        }
    }
}

fn foreign() -> std::io::Error {
    crate::ForeignFile::error()
}

/// Writes `bytes` to `path` whole ([`extract_fs::write_atomic`]). Without `replace`, an existing
/// file is never replaced.
pub(crate) fn write_file(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    extract_fs::write_bytes_atomic(path, bytes, replace.into(), None).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            foreign()
        } else {
            e
        }
    })
}

/// Where a run into `out` with `shard` records its jobs, as shown to a person (in messages
/// that say how to resume).
pub fn manifest_shown(out: &Place, shard: Option<Shard>) -> String {
    OutputFolder::new(out, shard).manifest_shown()
}

/// The manifests of every shard that wrote to `location` (and of a run without shards), by
/// shard folder name (`""` for the latter), read without changing anything.
pub async fn shard_manifests(location: &Place) -> std::io::Result<Vec<(String, Manifest)>> {
    let mut found = Vec::new();
    match location {
        Place::Local(dir) => {
            if !dir.is_dir() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{}: no such folder", dir.display()),
                ));
            }
            if dir.join(crate::MANIFEST_FILE).is_file() {
                found.push((String::new(), Manifest::load(dir)?));
            }
            if let Ok(entries) = std::fs::read_dir(dir.join(STATE_DIR)) {
                for entry in entries {
                    let entry = entry?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with("shard-") && entry.path().is_dir() {
                        found.push((name, Manifest::load(&entry.path())?));
                    }
                }
            }
        }
        Place::Store(at) => {
            let listing = at
                .store
                .list_with_delimiter(Some(&at.child(STATE_DIR)))
                .await
                .map_err(store_error)?;
            for prefix in listing.common_prefixes {
                let name = prefix.filename().unwrap_or_default().to_string();
                if name.starts_with("shard-") {
                    let manifest = journal::load_store(at.store.as_ref(), &prefix)
                        .await?
                        .manifest;
                    found.push((name, manifest));
                }
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_manifest_is_shown_where_each_kind_of_run_keeps_it() {
        let out = Place::Local("out".into());
        let shard = Shard::new(1, 3).ok();
        assert_eq!(
            manifest_shown(&out, None),
            Path::new("out")
                .join(crate::MANIFEST_FILE)
                .display()
                .to_string()
        );
        assert_eq!(
            manifest_shown(&out, shard),
            Path::new("out/.kensho-extract/shard-1-of-3")
                .join(crate::MANIFEST_FILE)
                .display()
                .to_string()
        );
        let store = Place::Store(StorePrefix::new(
            Arc::new(object_store::memory::InMemory::new()),
            ObjectPath::from("out"),
            "s3://corpus/out",
        ));
        assert_eq!(
            manifest_shown(&store, shard),
            "s3://corpus/out/.kensho-extract/shard-1-of-3"
        );
        assert_eq!(
            manifest_shown(&store, None),
            "s3://corpus/out/.kensho-extract/shard-0-of-1"
        );
    }
}
