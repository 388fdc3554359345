//! A content-addressed cache of output documents, shared by every batch of a user: the same
//! file extracted with the same options, by the same service for the same account, is never
//! paid for twice, whatever folder either run wrote to.
//!
//! The key is SHA-256 over the cache format, the API version, the [`CacheScope`] (the service's
//! base URL without credentials, and a digest of the account), the file's SHA-256 and every
//! request field that changes the output (all but `priority`). An output made by one service
//! (an emulator, a staging deployment) or for one account never answers a run against another.
//!
//! On disk, each service has a folder named by a digest of its URL, holding a `service` file
//! (the redacted URL, for `cache stats`) and the entries, `<2 hex>/<key>.json`. An entry holds
//! its key and service beside the document, and is read back only if both match: entries are
//! input, and a damaged, moved or tampered one is a miss, never a panic. Entries are whole
//! files, written to a temporary name and renamed, so a crash or a concurrent run never leaves
//! half an entry. Symbolic links are never followed, so nothing outside the folder is read or
//! deleted. The cache is separate from the batch manifest: deleting outputs or a manifest never
//! deletes the cache, and `clear` never touches outputs.

use std::fs::FileType;
use std::io::Read;
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

/// What a cache holds for one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceStats {
    /// The service's base URL, without credentials; `None` for entries of an earlier cache
    /// format (never read again) or a folder whose `service` file is missing or damaged.
    pub service: Option<String>,
    /// Its output documents and their bytes.
    pub stats: CacheStats,
}

/// Whom a cached output was made by and for: the service (its API base URL, normalised and
/// without credentials) and the account (a digest of the client or subject the requests were
/// authenticated as). Part of every key: an output never answers a run with another scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CacheScope {
    service: String,
    account: String,
}

impl CacheScope {
    /// The scope of requests to `api_url` for `account`: a non-secret identity such as
    /// `client:<client id>` (never a token or a key). The URL keeps its scheme, host, port
    /// (none when it is the scheme's default) and path (no trailing `/`); a user, password,
    /// query or fragment is dropped, so credentials in the URL neither reach the disk nor
    /// change the key. The account is kept only as a SHA-256 digest.
    pub fn new(api_url: &str, account: &str) -> Result<CacheScope, CacheScopeError> {
        if account.is_empty() {
            return Err(CacheScopeError::NoAccount);
        }
        let mut hasher = Sha256::new();
        hasher.update(b"extract-batch cache account\n");
        hasher.update(account.as_bytes());
        Ok(CacheScope {
            service: Self::service_of(api_url)?,
            account: crate::hex(&hasher.finalize()),
        })
    }

    /// `api_url` as a scope names its service: `scheme://host[:port][/path]`, without user,
    /// password, query or fragment.
    pub fn service_of(api_url: &str) -> Result<String, CacheScopeError> {
        let url = url::Url::parse(api_url.trim()).map_err(|e| CacheScopeError::NotAUrl {
            // url's messages name what is wrong, never the URL (which may hold credentials).
            reason: e.to_string(),
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(CacheScopeError::NoHost)?;
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = url.path().trim_end_matches('/');
        Ok(format!("{}://{host}{port}{path}", url.scheme()))
    }

    /// The service: the redacted base URL.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The account, as the hex SHA-256 of the identity given.
    pub fn account(&self) -> &str {
        &self.account
    }
}

/// Why a [`CacheScope`] could not be made. No variant carries the URL: it may hold credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheScopeError {
    /// The account is empty.
    NoAccount,
    /// The API URL does not parse.
    #[non_exhaustive]
    NotAUrl {
        /// What the URL parser says is wrong.
        reason: String,
    },
    /// The API URL names no host.
    NoHost,
}

impl std::fmt::Display for CacheScopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheScopeError::NoAccount => f.write_str("a cache scope needs an account"),
            CacheScopeError::NotAUrl { reason } => {
                write!(f, "the API URL is not a URL ({reason})")
            }
            CacheScopeError::NoHost => f.write_str("the API URL has no host"),
        }
    }
}

impl std::error::Error for CacheScopeError {}

/// The folder of a service's entries: 32 hex digits of a digest of its URL.
fn service_folder(service: &str) -> String {
    let digest = Sha256::digest(format!("extract-batch cache service\n{service}").as_bytes());
    crate::hex(&digest[..16])
}

/// The file in a service's folder that names it.
const SERVICE_FILE: &str = "service";
/// The longest `service` file read back.
const MAX_SERVICE_FILE: u64 = 4096;

/// A folder of output documents named by their key, grouped by service.
#[derive(Debug, Clone)]
pub struct OutputCache {
    dir: PathBuf,
}

/// Changes when the key's inputs or the entries' format change: older entries then miss.
/// 2: the key covers the service and account; entries hold their key and service; a folder
/// per service.
const FORMAT: &str = "output cache 2; extract api v3";

/// An entry as written.
#[derive(serde::Serialize)]
struct Entry<'a> {
    key: &'a str,
    service: &'a str,
    document: &'a OutputDocument,
}

/// An entry as read back.
#[derive(serde::Deserialize)]
struct StoredEntry {
    key: String,
    service: String,
    document: OutputDocument,
}

fn is_hex(name: &str, len: usize) -> bool {
    name.len() == len && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A real folder, not a link to one.
fn is_dir(kind: &FileType) -> bool {
    kind.is_dir() && !kind.is_symlink()
}

impl OutputCache {
    /// A cache in `dir` (made on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> OutputCache {
        OutputCache { dir: dir.into() }
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a file (its SHA-256, hex) sent with `options` to `scope`'s service for its
    /// account, as one job.
    pub fn key(scope: &CacheScope, file_sha256: &str, options: &ExtractionOptions) -> String {
        Self::key_with(scope, file_sha256, options, None)
    }

    /// The key of a file sent with `options` as page-split jobs of at most `split_pages` pages
    /// (`BatchRunner::split_pages`), merged: never the key of a single job's output, which the
    /// merged document need not equal (page numbers are absolute, the tree is re-nested).
    pub fn split_key(
        scope: &CacheScope,
        file_sha256: &str,
        options: &ExtractionOptions,
        split_pages: u32,
    ) -> String {
        Self::key_with(scope, file_sha256, options, Some(split_pages))
    }

    fn key_with(
        scope: &CacheScope,
        file_sha256: &str,
        options: &ExtractionOptions,
        split_pages: Option<u32>,
    ) -> String {
        let mut hasher = Sha256::new();
        hasher.update(FORMAT.as_bytes());
        hasher.update(b"\nservice ");
        hasher.update(scope.service.as_bytes());
        hasher.update(b"\naccount ");
        hasher.update(scope.account.as_bytes());
        hasher.update(b"\nfile ");
        hasher.update(file_sha256.as_bytes());
        let mut fields = options.to_fields();
        fields.sort();
        for (name, value) in fields.iter().filter(|(name, _)| *name != "priority") {
            hasher.update(format!("\n{name}={value}").as_bytes());
        }
        if let Some(size) = split_pages {
            hasher.update(format!("\nsplit_pages {size}").as_bytes());
        }
        crate::hex(&hasher.finalize())
    }

    fn path(&self, scope: &CacheScope, key: &str) -> Option<PathBuf> {
        // Keys are ours (hex), but the check costs nothing and keeps every path inside `dir`.
        if !is_hex(key, 64) {
            return None;
        }
        Some(
            self.dir
                .join(service_folder(&scope.service))
                .join(&key[..2])
                .join(format!("{key}.json")),
        )
    }

    /// The output document stored under `key` for `scope`, if there is a readable one that
    /// says it is that key's, from that service.
    pub fn get(&self, scope: &CacheScope, key: &str) -> Option<OutputDocument> {
        let path = self.path(scope, key)?;
        // Neither the entry nor its two folders may be a link (out of the cache folder).
        let real = |p: &Path, dir: bool| {
            std::fs::symlink_metadata(p)
                .is_ok_and(|m| !m.file_type().is_symlink() && m.is_dir() == dir)
        };
        let shard = path.parent()?;
        let service = shard.parent()?;
        if !(real(&path, false) && real(shard, true) && real(service, true)) {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<StoredEntry>(&bytes) {
            Ok(entry) if entry.key == key && entry.service == scope.service => Some(entry.document),
            Ok(_) => {
                tracing::warn!(
                    key,
                    "a cache entry names another key or service; it counts as a miss"
                );
                None
            }
            Err(e) => {
                tracing::warn!(key, "a cache entry is damaged ({e}); it counts as a miss");
                None
            }
        }
    }

    /// Stores `document` under `key` for `scope`, whole or not at all.
    pub fn put(
        &self,
        scope: &CacheScope,
        key: &str,
        document: &OutputDocument,
    ) -> std::io::Result<()> {
        let path = self.path(scope, key).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a cache key")
        })?;
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir)?;
        let named = self
            .dir
            .join(service_folder(&scope.service))
            .join(SERVICE_FILE);
        let wanted = format!("{}\n", scope.service);
        if std::fs::read(&named).ok().as_deref() != Some(wanted.as_bytes()) {
            extract_fs::write_bytes_atomic(
                &named,
                wanted.as_bytes(),
                extract_fs::Replace::Yes,
                None,
            )?;
        }
        let bytes = serde_json::to_vec(&Entry {
            key,
            service: &scope.service,
            document,
        })?;
        extract_fs::write_bytes_atomic(&path, &bytes, extract_fs::Replace::Yes, None)
    }

    /// Counts the entries and their bytes.
    pub fn stats(&self) -> std::io::Result<CacheStats> {
        let mut total = CacheStats::default();
        for group in self.service_stats()? {
            total.entries += group.stats.entries;
            total.bytes += group.stats.bytes;
        }
        Ok(total)
    }

    /// Counts the entries and their bytes by service, in the order of the services' URLs
    /// (entries of an earlier format, or of a folder not naming its service, last).
    pub fn service_stats(&self) -> std::io::Result<Vec<ServiceStats>> {
        let mut groups: Vec<ServiceStats> = Vec::new();
        for (service, entries) in self.groups()? {
            let index = match groups.iter().position(|g| g.service == service) {
                Some(index) => index,
                None => {
                    groups.push(ServiceStats {
                        service,
                        stats: CacheStats::default(),
                    });
                    groups.len() - 1
                }
            };
            for path in entries {
                groups[index].stats.entries += 1;
                groups[index].stats.bytes +=
                    std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
            }
        }
        groups.retain(|g| g.stats.entries > 0);
        groups.sort_by(|a, b| {
            (a.service.is_none(), &a.service).cmp(&(b.service.is_none(), &b.service))
        });
        Ok(groups)
    }

    /// Deletes every entry, of any service or earlier format, and the services' `service`
    /// files (and nothing else); what was deleted.
    pub fn clear(&self) -> std::io::Result<CacheStats> {
        let mut stats = CacheStats::default();
        for (_, entries) in self.groups()? {
            for path in entries {
                let bytes = std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
                std::fs::remove_file(&path)?;
                stats.entries += 1;
                stats.bytes += bytes;
                if let Some(parent) = path.parent() {
                    // Empty shard folders go too; a folder still in use by another run stays.
                    let _ = std::fs::remove_dir(parent);
                }
            }
        }
        for (folder, kind) in self.children(&self.dir)? {
            let is_service = folder
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| is_hex(n, 32));
            if is_service && is_dir(&kind) {
                let named = folder.join(SERVICE_FILE);
                if std::fs::symlink_metadata(&named).is_ok_and(|m| m.is_file()) {
                    std::fs::remove_file(&named)?;
                }
                let _ = std::fs::remove_dir(&folder);
            }
        }
        Ok(stats)
    }

    /// The real (not linked) files and folders in `dir`; none if it does not exist.
    fn children(&self, dir: &Path) -> std::io::Result<Vec<(PathBuf, FileType)>> {
        let read = match std::fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        Ok(read
            .filter_map(Result::ok)
            .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
            .filter(|(_, kind)| !kind.is_symlink())
            .collect())
    }

    /// The entry files of a folder of shards: `<2 hex>/<64 hex>.json`.
    fn entries_in(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        for (shard, kind) in self.children(dir)? {
            let name = shard.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !is_hex(name, 2) || !is_dir(&kind) {
                continue;
            }
            for (path, kind) in self.children(&shard)? {
                let is_entry = kind.is_file()
                    && path.extension().is_some_and(|e| e == "json")
                    && path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .is_some_and(|s| is_hex(s, 64));
                if is_entry {
                    found.push(path);
                }
            }
        }
        Ok(found)
    }

    /// The entries by service: each service folder's (named by its `service` file, if that is
    /// intact), and those of the earlier format (`<2 hex>/<64 hex>.json` at the top; no
    /// service).
    fn groups(&self) -> std::io::Result<Vec<(Option<String>, Vec<PathBuf>)>> {
        let mut groups = vec![(None, self.entries_in(&self.dir)?)];
        for (folder, kind) in self.children(&self.dir)? {
            let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !is_hex(name, 32) || !is_dir(&kind) {
                continue;
            }
            groups.push((
                Self::named_service(&folder, name),
                self.entries_in(&folder)?,
            ));
        }
        Ok(groups)
    }

    /// The service a folder's `service` file names, if it is a plain file, short, names a
    /// service without credentials, and the folder is that service's.
    fn named_service(folder: &Path, name: &str) -> Option<String> {
        let path = folder.join(SERVICE_FILE);
        if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            return None;
        }
        let mut text = String::new();
        std::fs::File::open(&path)
            .ok()?
            .take(MAX_SERVICE_FILE)
            .read_to_string(&mut text)
            .ok()?;
        let service = text.strip_suffix('\n')?;
        let normal = CacheScope::service_of(service).ok()?;
        (normal == service && service_folder(service) == name).then_some(normal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> OutputDocument {
        OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []}"#)
            .expect("a document")
    }

    fn scope(url: &str, account: &str) -> CacheScope {
        CacheScope::new(url, account).expect("a scope")
    }

    fn dev() -> CacheScope {
        scope("http://127.0.0.1:8080", "client:0oaDEV")
    }

    #[test]
    fn every_option_that_changes_the_output_changes_the_key() {
        let sha = "ab".repeat(32);
        let key = |options: &ExtractionOptions| OutputCache::key(&dev(), &sha, options);
        let base = key(&ExtractionOptions::new());
        assert_eq!(base, key(&ExtractionOptions::new()));
        assert_ne!(
            base,
            OutputCache::key(&dev(), &"cd".repeat(32), &ExtractionOptions::new())
        );
        for changed in [
            ExtractionOptions::new().ocr(true),
            ExtractionOptions::new().enhanced_table_extraction(true),
            ExtractionOptions::new().pages("1-2"),
            ExtractionOptions::new().figure_extraction(true),
        ] {
            assert_ne!(base, key(&changed), "{changed:?}");
        }
        assert_eq!(
            base,
            key(&ExtractionOptions::new().priority("low")),
            "priority changes when, not what"
        );
        assert_ne!(
            base,
            OutputCache::split_key(&dev(), &sha, &ExtractionOptions::new(), 10),
            "a merged output is not a single job's"
        );
        assert_ne!(
            OutputCache::split_key(&dev(), &sha, &ExtractionOptions::new(), 10),
            OutputCache::split_key(&dev(), &sha, &ExtractionOptions::new(), 11),
        );
    }

    #[test]
    fn the_service_and_the_account_are_in_the_key_and_credentials_are_not() {
        let sha = "ab".repeat(32);
        let options = ExtractionOptions::new();
        let key = |scope: &CacheScope| OutputCache::key(scope, &sha, &options);
        let base = key(&dev());
        // Another service: another host, port, scheme or path.
        for other in [
            "http://127.0.0.1:8081",
            "https://127.0.0.1:8080",
            "http://localhost:8080",
            "http://127.0.0.1:8080/staging",
            "https://extract.kensho.com",
        ] {
            assert_ne!(base, key(&scope(other, "client:0oaDEV")), "{other}");
        }
        // Another account.
        assert_ne!(base, key(&scope("http://127.0.0.1:8080", "client:0oaPROD")));
        // The same service, written otherwise, or with credentials: the same key.
        for same in [
            "http://127.0.0.1:8080/",
            "HTTP://127.0.0.1:8080",
            "http://user:secret@127.0.0.1:8080",
            "http://127.0.0.1:8080/?token=secret&sig=x",
            "http://127.0.0.1:8080#frag",
            " http://127.0.0.1:8080 ",
        ] {
            let same = scope(same, "client:0oaDEV");
            assert_eq!(same.service(), "http://127.0.0.1:8080");
            assert_eq!(base, key(&same));
        }
        assert_eq!(
            scope("https://Extract.Kensho.com:443/api/", "a").service(),
            "https://extract.kensho.com/api",
            "the default port and the case of the host are no difference"
        );
        assert!(!dev().account().contains("0oaDEV"), "a digest, not the id");
        assert!(matches!(
            CacheScope::new("not a url", "a"),
            Err(CacheScopeError::NotAUrl { .. })
        ));
        assert_eq!(
            CacheScope::new("http://127.0.0.1", ""),
            Err(CacheScopeError::NoAccount)
        );
        assert_eq!(
            CacheScope::new("unix:/run/extract.sock", "a"),
            Err(CacheScopeError::NoHost)
        );
        // The password of a URL that does not parse is not in the message.
        let bad = CacheScope::new("https://user:hunter2@[::1", "a").expect_err("bad");
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }

    #[test]
    fn stores_reads_counts_and_clears_only_its_own_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = OutputCache::new(dir.path().join("cache"));
        let key = OutputCache::key(&dev(), &"ab".repeat(32), &ExtractionOptions::new());
        assert!(cache.get(&dev(), &key).is_none());
        assert_eq!(cache.stats().expect("stats"), CacheStats::default());
        cache.put(&dev(), &key, &document()).expect("stores");
        assert_eq!(cache.get(&dev(), &key), Some(document()));
        let stats = cache.stats().expect("stats");
        assert_eq!(stats.entries, 1);
        assert!(stats.bytes > 0);

        // A stranger's file in the folder is neither counted nor deleted.
        let stranger = dir.path().join("cache/notes.txt");
        std::fs::write(&stranger, "mine").expect("writes");
        // A damaged entry is a miss, not an error.
        let other = OutputCache::key(&dev(), &"cd".repeat(32), &ExtractionOptions::new());
        cache.put(&dev(), &other, &document()).expect("stores");
        std::fs::write(cache.path(&dev(), &other).expect("path"), b"{\"trunc").expect("damages");
        assert!(cache.get(&dev(), &other).is_none());

        let cleared = cache.clear().expect("clears");
        assert_eq!(cleared.entries, 2);
        assert!(cache.get(&dev(), &key).is_none());
        assert!(stranger.is_file());
        assert!(cache.get(&dev(), "../../etc/passwd").is_none(), "not a key");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .expect("reads")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["notes.txt"], "service folders go too");
    }

    #[test]
    fn stats_group_by_service_and_tampering_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = OutputCache::new(dir.path().join("cache"));
        let prod = scope(
            "https://user:pw@extract.kensho.com/?key=s3cret",
            "client:0oaPROD",
        );
        let sha = "ab".repeat(32);
        let options = ExtractionOptions::new();
        let dev_key = OutputCache::key(&dev(), &sha, &options);
        let prod_key = OutputCache::key(&prod, &sha, &options);
        cache.put(&dev(), &dev_key, &document()).expect("stores");
        cache
            .put(
                &dev(),
                &OutputCache::key(&dev(), &"cd".repeat(32), &options),
                &document(),
            )
            .expect("stores");
        cache.put(&prod, &prod_key, &document()).expect("stores");
        // An entry of the earlier format (no service): counted, never read, cleared.
        let legacy = dir
            .path()
            .join("cache/ab")
            .join(format!("{}.json", "ab".repeat(32)));
        std::fs::create_dir_all(legacy.parent().expect("parent")).expect("mkdir");
        std::fs::write(&legacy, b"{}").expect("writes");

        let groups = cache.service_stats().expect("stats");
        let shown: Vec<(Option<&str>, u64)> = groups
            .iter()
            .map(|g| (g.service.as_deref(), g.stats.entries))
            .collect();
        assert_eq!(
            shown,
            [
                (Some("http://127.0.0.1:8080"), 2),
                (Some("https://extract.kensho.com"), 1),
                (None, 1)
            ]
        );
        assert_eq!(cache.stats().expect("stats").entries, 4);

        // No credential and no account reaches the disk.
        let mut files = vec![dir.path().join("cache")];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(
                    std::fs::read_dir(&path)
                        .expect("reads")
                        .map(|e| e.expect("e").path()),
                );
            } else {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).expect("reads")).into_owned();
                assert!(
                    !text.contains("s3cret") && !text.contains("pw@") && !text.contains("0oa"),
                    "{text}"
                );
            }
        }

        // An entry copied to another key or service's place is a miss.
        let dev_path = cache.path(&dev(), &dev_key).expect("path");
        let prod_path = cache.path(&prod, &prod_key).expect("path");
        std::fs::copy(&dev_path, &prod_path).expect("copies");
        assert!(
            cache.get(&prod, &prod_key).is_none(),
            "another service's entry"
        );
        let moved = OutputCache::key(&dev(), &"ef".repeat(32), &options);
        let moved_path = cache.path(&dev(), &moved).expect("path");
        std::fs::create_dir_all(moved_path.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&dev_path, &moved_path).expect("copies");
        assert!(cache.get(&dev(), &moved).is_none(), "another key's entry");
        assert_eq!(cache.get(&dev(), &dev_key), Some(document()));
        // Garbage of every kind: a miss, no panic.
        for garbage in [
            &b""[..],
            b"null",
            b"[]",
            b"{\"key\": 1}",
            &[0xff, 0xfe, 0x00][..],
        ] {
            std::fs::write(&dev_path, garbage).expect("writes");
            assert!(cache.get(&dev(), &dev_key).is_none());
        }

        // A tampered `service` file: the folder's entries are counted as of no known service.
        let named = dev_path
            .parent()
            .and_then(Path::parent)
            .expect("service folder")
            .join(SERVICE_FILE);
        for tampered in [
            "http://user:pw@127.0.0.1:8080\n".to_string(),
            "http://elsewhere\n".to_string(),
            "../../etc\n".to_string(),
            "x".repeat(10_000),
        ] {
            std::fs::write(&named, &tampered).expect("writes");
            let groups = cache.service_stats().expect("stats");
            assert!(
                groups
                    .iter()
                    .all(|g| g.service.as_deref() != Some("http://127.0.0.1:8080")
                        && g.service.as_deref() != Some("http://elsewhere")),
                "{tampered:.40}: {groups:?}"
            );
        }
        // Writing again restores it.
        cache.put(&dev(), &dev_key, &document()).expect("stores");
        assert_eq!(cache.get(&dev(), &dev_key), Some(document()));
        assert_eq!(cache.clear().expect("clears").entries, 5);
        assert!(!legacy.exists());
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_cache_are_never_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        let cache = OutputCache::new(dir.path().join("cache"));
        let key = OutputCache::key(&dev(), &"ab".repeat(32), &ExtractionOptions::new());
        // Someone else's entry, and a link to its folder where an entry folder would be.
        let elsewhere = OutputCache::new(&outside);
        elsewhere.put(&dev(), &key, &document()).expect("stores");
        let service = service_folder(dev().service());
        std::fs::create_dir_all(dir.path().join("cache")).expect("mkdir");
        std::os::unix::fs::symlink(
            outside.join(&service),
            dir.path().join("cache").join(&service),
        )
        .expect("links");
        assert!(cache.get(&dev(), &key).is_none());
        assert_eq!(cache.stats().expect("stats").entries, 0);
        cache.clear().expect("clears");
        assert_eq!(elsewhere.get(&dev(), &key), Some(document()), "not deleted");
    }
}
