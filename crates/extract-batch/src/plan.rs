//! What a run over stores or in shards would do, without doing it: the inputs of this shard,
//! their sizes, and which an earlier run finished. Nothing is written and no object is read
//! (an object's identity is its ETag, which the listing gives).

use crate::folder::OutputFolder;
use crate::input::InputFile;
use crate::list::list;
use crate::manifest::EntryState;
use crate::place::Place;
use crate::shard::Shard;

/// One input as a dry run sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedInput {
    /// Its path or URL.
    pub input: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether an earlier run into the same output folder finished it, with this content.
    pub done: bool,
}

/// The inputs under `inputs` that belong to `shard`, in the order a run takes them, each with
/// its size and whether the manifest of `out` records it as finished. Reads the manifest
/// without compacting it and takes no lock.
pub async fn plan(
    inputs: &[Place],
    out: &Place,
    shard: Option<Shard>,
) -> std::io::Result<Vec<PlannedInput>> {
    let manifest = OutputFolder::new(out, shard).read_manifest().await?;
    let mut planned = Vec::new();
    for listed in list(inputs, shard).await? {
        let bytes = match &listed.file {
            InputFile::Local(path) => std::fs::metadata(path)?.len(),
            InputFile::Object { size, .. } => *size,
        };
        let done = match manifest.documents.get(&listed.key) {
            Some(entry) if entry.state == EntryState::Succeeded => {
                entry.sha256 == listed.file.identity().await?
            }
            _ => false,
        };
        planned.push(PlannedInput {
            input: listed.file.shown().display().to_string(),
            bytes,
            done,
        });
    }
    Ok(planned)
}
