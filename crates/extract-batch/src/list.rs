//! The list stage for files on this machine: folders searched for `*.pdf`, links followed but
//! never round a loop; and a file's content hash, its identity in the manifest.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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
