//! A content-addressed cache of output documents, shared by every batch of a user: the same
//! file extracted with the same options is never paid for twice, whatever folder either run
//! wrote to.
//!
//! The key is SHA-256 over the cache format, the API version, the file's SHA-256 and every
//! request field that changes the output (all but `priority`). Entries are whole files,
//! written to a temporary name and renamed, so a crash or a concurrent run never leaves half an
//! entry; a damaged entry reads as a miss. The cache is separate from the batch manifest:
//! deleting outputs or a manifest never deletes the cache, and `clear` never touches outputs.

use std::path::{Path, PathBuf};

use extract_api::{ExtractionOptions, OutputDocument};
use sha2::{Digest, Sha256};

/// What is in a cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Output documents held.
    pub entries: u64,
    /// Their size in bytes.
    pub bytes: u64,
}

/// A folder of output documents named by their key.
#[derive(Debug, Clone)]
pub struct OutputCache {
    dir: PathBuf,
}

/// Changes when the key's inputs or the entries' format change: older entries then miss.
const FORMAT: &str = "kensho-extract output cache 1; extract api v3";

impl OutputCache {
    /// A cache in `dir` (made on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> OutputCache {
        OutputCache { dir: dir.into() }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a file (its SHA-256, hex) sent with `options`.
    pub fn key(file_sha256: &str, options: &ExtractionOptions) -> String {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT.as_bytes());
        hasher.update(b"\nfile ");
        hasher.update(file_sha256.as_bytes());
        let mut fields = options.to_fields();
        fields.sort();
        for (name, value) in fields.iter().filter(|(name, _)| *name != "priority") {
            hasher.update(format!("\n{name}={value}").as_bytes());
        }
        crate::hex(&hasher.finalize())
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        // Keys are ours (hex), but the check costs nothing and keeps every path inside `dir`.
        if key.len() < 3 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.dir.join(&key[..2]).join(format!("{key}.json")))
    }

    /// The output document stored under `key`, if there is a readable one.
    pub fn get(&self, key: &str) -> Option<OutputDocument> {
        let bytes = std::fs::read(self.path(key)?).ok()?;
        match OutputDocument::from_json(&bytes) {
            Ok(document) => Some(document),
            Err(e) => {
                tracing::warn!(key, "a cache entry is damaged ({e}); it counts as a miss");
                None
            }
        }
    }

    /// Stores `document` under `key`, whole or not at all.
    pub fn put(&self, key: &str, document: &OutputDocument) -> std::io::Result<()> {
        let path = self.path(key).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a cache key")
        })?;
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir)?;
        let bytes = serde_json::to_vec(document)?;
        extract_fs::write_bytes_atomic(&path, &bytes, extract_fs::Replace::Yes, None)
    }

    /// Counts the entries and their bytes.
    pub fn stats(&self) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        for path in self.entries()? {
            stats.entries += 1;
            stats.bytes += std::fs::metadata(&path).map_or(0, |m| m.len());
        }
        Ok(stats)
    }

    /// Deletes every entry (and nothing else); what was deleted.
    pub fn clear(&self) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        for path in self.entries()? {
            let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
            std::fs::remove_file(&path)?;
            stats.entries += 1;
            stats.bytes += bytes;
            if let Some(parent) = path.parent() {
                // Empty shard folders go too; a folder still in use by another run stays.
                let _ = std::fs::remove_dir(parent);
            }
        }
        Ok(stats)
    }

    /// The entry files: `<2 hex>/<64 hex>.json`.
    fn entries(&self) -> std::io::Result<Vec<PathBuf>> {
        let shards = match std::fs::read_dir(&self.dir) {
            Ok(shards) => shards,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let mut found = Vec::new();
        for shard in shards.filter_map(Result::ok) {
            let name = shard.file_name();
            let is_shard = name.len() == 2
                && name
                    .to_str()
                    .is_some_and(|n| n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_shard || !shard.path().is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(shard.path())?.filter_map(Result::ok) {
                let path = entry.path();
                let is_entry = path.extension().is_some_and(|e| e == "json")
                    && path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
                if is_entry {
                    found.push(path);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> OutputDocument {
        OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []}"#)
            .expect("a document")
    }

    #[test]
    fn every_option_that_changes_the_output_changes_the_key() {
        let sha = "ab".repeat(32);
        let base = OutputCache::key(&sha, &ExtractionOptions::new());
        assert_eq!(base, OutputCache::key(&sha, &ExtractionOptions::new()));
        assert_ne!(
            base,
            OutputCache::key(&"cd".repeat(32), &ExtractionOptions::new())
        );
        for changed in [
            ExtractionOptions::new().ocr(true),
            ExtractionOptions::new().enhanced_table_extraction(true),
            ExtractionOptions::new().pages("1-2"),
            ExtractionOptions::new().figure_extraction(true),
        ] {
            assert_ne!(base, OutputCache::key(&sha, &changed), "{changed:?}");
        }
        assert_eq!(
            base,
            OutputCache::key(&sha, &ExtractionOptions::new().priority("low")),
            "priority changes when, not what"
        );
    }

    #[test]
    fn stores_reads_counts_and_clears_only_its_own_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = OutputCache::new(dir.path().join("cache"));
        let key = OutputCache::key(&"ab".repeat(32), &ExtractionOptions::new());
        assert!(cache.get(&key).is_none());
        assert_eq!(cache.stats().expect("stats"), CacheStats::default());
        cache.put(&key, &document()).expect("stores");
        assert_eq!(cache.get(&key), Some(document()));
        let stats = cache.stats().expect("stats");
        assert_eq!(stats.entries, 1);
        assert!(stats.bytes > 0);

        // A stranger's file in the folder is neither counted nor deleted.
        let stranger = dir.path().join("cache/notes.txt");
        std::fs::write(&stranger, "mine").expect("writes");
        // A damaged entry is a miss, not an error.
        let other = OutputCache::key(&"cd".repeat(32), &ExtractionOptions::new());
        cache.put(&other, &document()).expect("stores");
        std::fs::write(cache.path(&other).expect("path"), b"{\"trunc").expect("damages");
        assert!(cache.get(&other).is_none());

        let cleared = cache.clear().expect("clears");
        assert_eq!(cleared.entries, 2);
        assert!(cache.get(&key).is_none());
        assert!(stranger.is_file());
        assert!(cache.get("../../etc/passwd").is_none(), "not a key");
    }
}
