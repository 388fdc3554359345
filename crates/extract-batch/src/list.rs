//! The list stage: the PDFs under the given folders and prefixes that belong to this shard,
//! sorted, without repeats; folders on this machine searched with links followed but never
//! round a loop, a store's listing streamed; and a file's content hash, its identity in the
//! manifest.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use object_store::ObjectMeta;
use object_store::list::PaginatedListOptions;
use sha2::{Digest, Sha256};

use crate::input::{InputFile, store_error};
use crate::manifest::input_key;
use crate::place::{Place, StorePrefix};
use crate::shard::Shard;

/// An input as listed: where it is, its manifest key, and its path under the folder it was
/// found in (what mirrored names are made from).
pub(crate) struct Listed {
    pub(crate) file: InputFile,
    pub(crate) key: String,
    pub(crate) relative: Option<String>,
}

/// Lists the PDFs under `locations` that belong to `shard` (all of them without one), sorted by
/// key, without repeats. A store's listing is streamed: only this shard's inputs are kept.
pub(crate) async fn list(
    locations: &[Place],
    shard: Option<Shard>,
) -> std::io::Result<Vec<Listed>> {
    let mut listed = Vec::new();
    let mine = |key: &str| shard.is_none_or(|s| s.contains(key));
    let labels = labels(locations);
    for (location, label) in locations.iter().zip(labels) {
        // Several folders given: each one's names go under its own name, so `a/in/x.pdf` and
        // `b/in/x.pdf` stay two outputs whichever workers run them.
        let under = |relative: String| match &label {
            Some(label) => format!("{label}/{relative}"),
            None => relative,
        };
        match location {
            Place::Local(root) => {
                let root = root.clone();
                let files = tokio::task::spawn_blocking({
                    let root = root.clone();
                    move || expand(std::slice::from_ref(&root))
                })
                .await
                .map_err(std::io::Error::other)??;
                for file in files {
                    let key = input_key(&file);
                    if !mine(&key) {
                        continue;
                    }
                    // A file given by itself: its path as given (so two `a.pdf` in two
                    // folders stay two names); one found in a folder: its path under it.
                    let relative = if file == root {
                        file.to_str()
                            .map(|p| p.trim_start_matches("./").to_string())
                    } else {
                        file.strip_prefix(&root).ok().and_then(|r| {
                            let parts: Option<Vec<&str>> =
                                r.components().map(|c| c.as_os_str().to_str()).collect();
                            parts.map(|p| under(p.join("/")))
                        })
                    };
                    listed.push(Listed {
                        file: InputFile::Local(file),
                        key,
                        relative,
                    });
                }
            }
            Place::Store(at) => {
                list_store(at, |meta| {
                    let Some(relative) = at.relative(&meta.location) else {
                        return;
                    };
                    let is_pdf = meta
                        .location
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
                    let key = at.url_of(&relative);
                    if !is_pdf || !mine(&key) {
                        return;
                    }
                    listed.push(Listed {
                        file: InputFile::Object {
                            store: at.store.clone(),
                            path: meta.location,
                            size: meta.size,
                            etag: meta.e_tag,
                            shown: PathBuf::from(&key),
                            held: tokio::sync::OnceCell::new(),
                        },
                        key,
                        relative: Some(under(relative)),
                    });
                })
                .await?;
            }
        }
    }
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    listed.dedup_by(|a, b| a.key == b.key);
    Ok(listed)
}

/// Keys asked for a page: S3's own maximum.
const PAGE: usize = 1000;

/// Gives `each` every object under `at`'s prefix, in the store's order. A key the store holds
/// but that is not a valid path (`in//x.pdf`, `in/./x.pdf`, `in/..`, a tab) fails the whole
/// page it is on, so with a paged listing the pages shrink around it until it is alone, and
/// it is skipped with one warning: one odd key never stops a run. Without one, it ends the
/// listing with an error that names it.
async fn list_store(at: &StorePrefix, mut each: impl FnMut(ObjectMeta)) -> std::io::Result<()> {
    let Some(pages) = &at.pages else {
        let mut objects = at.store.list(Some(&at.prefix));
        while let Some(meta) = objects.try_next().await.map_err(|e| listing_error(at, e))? {
            each(meta);
        }
        return Ok(());
    };
    let prefix = (!at.prefix.as_ref().is_empty()).then(|| format!("{}/", at.prefix));
    let mut after: Option<String> = None;
    let mut size = PAGE;
    loop {
        let options = PaginatedListOptions {
            offset: after.clone(),
            max_keys: Some(size),
            ..PaginatedListOptions::default()
        };
        match pages.list_paginated(prefix.as_deref(), options).await {
            Ok(page) => {
                let mut advanced = false;
                for meta in page.result.objects {
                    let key = meta.location.to_string();
                    // A store that gives `after` again (or goes back) would list for ever.
                    if after.as_ref().is_some_and(|after| key <= *after) {
                        continue;
                    }
                    after = Some(key);
                    advanced = true;
                    each(meta);
                }
                if page.page_token.is_none() {
                    return Ok(());
                }
                if !advanced {
                    return Err(std::io::Error::other(format!(
                        "{}: the store's listing does not move past {}; list it again later",
                        at.url(),
                        crate::names::printable(after.as_deref().unwrap_or("the start"))
                    )));
                }
                size = (size * 4).min(PAGE);
            }
            Err(object_store::Error::InvalidPath { source }) => {
                let Some(odd) = odd_key(&source) else {
                    return Err(store_error(object_store::Error::InvalidPath { source }));
                };
                if size > 1 {
                    size = (size / 8).max(1);
                    continue;
                }
                tracing::warn!(
                    "{}: skipped: an object key with an empty, `.` or `..` part or a control character cannot be read or written safely; rename it to include it",
                    crate::names::printable(&format!(
                        "{}/{}",
                        at.url(),
                        odd.strip_prefix(prefix.as_deref().unwrap_or(""))
                            .unwrap_or(odd)
                    ))
                );
                after = Some(odd.to_string());
                size = PAGE;
            }
            Err(e) => return Err(store_error(e)),
        }
    }
}

/// The key a store holds that is not a valid path, as the path error names it.
fn odd_key(error: &object_store::path::Error) -> Option<&str> {
    match error {
        object_store::path::Error::EmptySegment { path }
        | object_store::path::Error::BadSegment { path, .. } => Some(path),
        _ => None,
    }
}

/// A listing's error; an odd key is named, with what to do.
fn listing_error(at: &StorePrefix, error: object_store::Error) -> std::io::Error {
    match &error {
        object_store::Error::InvalidPath { source } if odd_key(source).is_some() => {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{}: the object {} has a key with an empty, `.` or `..` part or a control character, which this store's listing cannot step over; rename or remove it",
                    at.url(),
                    crate::names::printable(odd_key(source).unwrap_or_default())
                ),
            )
        }
        _ => store_error(error),
    }
}

/// When more than one location is given, a name for each folder or prefix among them (its last
/// part, made safe and unique among them: `in`, `in-2`, …), under which its inputs' mirrored
/// names go. Files given by themselves keep their paths as given. Every worker is given the
/// same locations, so every worker makes the same labels.
fn labels(locations: &[Place]) -> Vec<Option<String>> {
    if locations.len() < 2 {
        return vec![None; locations.len()];
    }
    let mut names = crate::names::UniqueNames::default();
    locations
        .iter()
        .map(|location| {
            let last = match location {
                Place::Local(path) if path.is_file() => return None,
                Place::Local(path) => path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                Place::Store(at) => at
                    .prefix
                    .parts()
                    .next_back()
                    .map(|p| p.as_ref().to_string())
                    .unwrap_or_else(|| {
                        let url = at.url();
                        let rest = url.split_once("://").map_or(url, |(_, r)| r);
                        rest.split('/').next().unwrap_or_default().to_string()
                    }),
            };
            let unique = names.next(&last, "input", "");
            Some(unique.trim_end_matches('.').to_string())
        })
        .collect()
}

/// Files as given, and the `*.pdf` files under given directories, sorted, without repeats.
/// The PDFs that `inputs` name, as [`BatchRunner::run`] finds them: files as given, folders
/// searched (sorted) for `*.pdf`. For a preflight or a dry run over exactly the batch's inputs.
pub fn expand(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let metadata = std::fs::metadata(input)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            collect_pdfs(input, &mut found, &mut HashSet::new())?;
            found.sort();
            files.extend(found);
        } else if metadata.is_file() {
            files.push(input.clone());
        } else {
            // Reading a FIFO, a socket or a device would wait forever or never end.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{}: not a regular file (a pipe, socket or device); give PDF files or folders",
                    input.display()
                ),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

/// The `*.pdf` files under `dir`, links followed, each folder entered once: a link back to a
/// folder above it (a loop) or to a folder already searched is reported in one line and not
/// followed, so the walk always ends and no file is listed under two names.
fn collect_pdfs(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    entered: &mut HashSet<PathBuf>,
) -> std::io::Result<()> {
    let listed =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    let real = std::fs::canonicalize(dir).map_err(listed)?;
    if !entered.insert(real.clone()) {
        tracing::warn!(
            "{}: a link to a folder already searched ({}); not followed",
            crate::names::printable(&dir.display().to_string()),
            crate::names::printable(&real.display().to_string())
        );
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(listed)? {
        let path = entry.map_err(listed)?.path();
        // Links are followed; anything but folders and regular files (FIFOs…) is passed over.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            collect_pdfs(&path, found, entered)?;
        } else if metadata.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// SHA-256 of a file's content, hex, read off the async threads: the identity of a document in
/// the manifest and in the output cache.
pub async fn hash_file(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(crate::hex(&hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// S3's listing as `object_store` sees it: raw keys, sorted, `start-after` and `max-keys`,
    /// and a page that holds a key `Path::parse` refuses fails as a whole.
    #[derive(Debug)]
    struct RawKeys {
        keys: Vec<String>,
        requests: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl object_store::list::PaginatedListStore for RawKeys {
        async fn list_paginated(
            &self,
            prefix: Option<&str>,
            opts: PaginatedListOptions,
        ) -> object_store::Result<object_store::list::PaginatedListResult> {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let after = opts.offset.unwrap_or_default();
            let size = opts.max_keys.unwrap_or(1000);
            let mut matching = self
                .keys
                .iter()
                .filter(|k| k.starts_with(prefix.unwrap_or("")) && k.as_str() > after.as_str());
            let page: Vec<&String> = matching.by_ref().take(size).collect();
            let more = matching.next().is_some();
            let objects = page
                .into_iter()
                .map(|k| {
                    Ok(ObjectMeta {
                        location: object_store::path::Path::parse(k)?,
                        last_modified: chrono::DateTime::UNIX_EPOCH,
                        size: 1,
                        e_tag: None,
                        version: None,
                    })
                })
                .collect::<object_store::Result<Vec<_>>>()?;
            Ok(object_store::list::PaginatedListResult {
                result: object_store::ListResult {
                    common_prefixes: Vec::new(),
                    objects,
                    extensions: Default::default(),
                },
                page_token: more.then(|| "more".to_string()),
            })
        }
    }

    #[tokio::test]
    async fn odd_keys_are_stepped_over_and_every_other_key_is_listed() {
        let mut keys: Vec<String> = (0..2500).map(|i| format!("in/doc-{i:05}.pdf")).collect();
        let odd = [
            "in//x.pdf",
            "in/./y.pdf",
            "in/../z.pdf",
            "in/..",
            "in/doc-00999/../w.pdf",
            "in/doc-01500\u{1b}]0;title\u{7}.pdf",
            "in/doc-02499\t.pdf",
        ];
        keys.extend(odd.iter().map(|k| k.to_string()));
        keys.sort();
        let pages = Arc::new(RawKeys {
            keys,
            requests: AtomicUsize::new(0),
        });
        let at = StorePrefix::new(
            Arc::new(object_store::memory::InMemory::new()),
            object_store::path::Path::from("in"),
            "s3://bucket/in",
        )
        .with_paged_listing(pages.clone());
        let mut seen = Vec::new();
        list_store(&at, |meta| seen.push(meta.location.to_string()))
            .await
            .expect("one odd key never fails the listing");
        let expected: Vec<String> = (0..2500).map(|i| format!("in/doc-{i:05}.pdf")).collect();
        assert_eq!(seen, expected);
        // Narrowing costs a few requests a key, not one a key listed.
        let requests = pages.requests.load(Ordering::Relaxed);
        assert!(requests < 3 + 7 * 12, "{requests} requests");

        // Without a paged listing, the error names the key (escaped) and says what to do.
        let source = object_store::path::Path::parse("in/a\u{1b}[2J.pdf").expect_err("odd");
        let error = listing_error(&at, object_store::Error::InvalidPath { source });
        let message = error.to_string();
        assert!(message.contains("in/a\\u{1b}[2J.pdf"), "{message}");
        assert!(message.contains("rename or remove it"), "{message}");
    }

    #[test]
    fn directories_expand_to_their_pdfs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["b.pdf", "a.pdf", "notes.txt", "sub/c.PDF"] {
            std::fs::write(dir.path().join(name), "x").expect("writes");
        }
        let files = expand(&[dir.path().to_path_buf(), dir.path().join("a.pdf")]).expect("expands");
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir.path())
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.pdf", "b.pdf", "sub/c.PDF"]);
        assert!(expand(&[dir.path().join("missing.pdf")]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_followed_once_and_the_walk_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        std::fs::write(sub.join("a.pdf"), "x").expect("writes");
        // sub/back -> .. (a loop), and twin -> sub (the same folder twice).
        std::os::unix::fs::symlink(dir.path(), sub.join("back")).expect("links");
        std::os::unix::fs::symlink(&sub, dir.path().join("twin")).expect("links");
        let files = expand(&[dir.path().to_path_buf()]).expect("expands");
        assert_eq!(files.len(), 1, "{files:?}");
    }
}
