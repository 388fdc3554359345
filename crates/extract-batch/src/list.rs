//! The list stage: the PDFs under the given folders and prefixes that belong to this shard,
//! sorted, without repeats; folders on this machine searched with links followed but never
//! round a loop, a store's listing streamed; and a file's content hash, its identity in the
//! manifest.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::input::{InputFile, store_error};
use crate::location::Location;
use crate::manifest::input_key;
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
    locations: &[Location],
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
            Location::Local(root) => {
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
            Location::Store(at) => {
                let mut objects = at.store.list(Some(&at.prefix));
                while let Some(meta) = objects.try_next().await.map_err(store_error)? {
                    let Some(relative) = at.relative(&meta.location) else {
                        continue;
                    };
                    let is_pdf = meta
                        .location
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
                    let key = at.url_of(&relative);
                    if !is_pdf || !mine(&key) {
                        continue;
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
                }
            }
        }
    }
    listed.sort_by(|a, b| a.key.cmp(&b.key));
    listed.dedup_by(|a, b| a.key == b.key);
    Ok(listed)
}

/// When more than one location is given, a name for each folder or prefix among them (its last
/// part, made safe and unique among them: `in`, `in-2`, …), under which its inputs' mirrored
/// names go. Files given by themselves keep their paths as given. Every worker is given the
/// same locations, so every worker makes the same labels.
fn labels(locations: &[Location]) -> Vec<Option<String>> {
    if locations.len() < 2 {
        return vec![None; locations.len()];
    }
    let mut names = crate::names::UniqueNames::default();
    locations
        .iter()
        .map(|location| {
            let last = match location {
                Location::Local(path) if path.is_file() => return None,
                Location::Local(path) => path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                Location::Store(at) => at
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
