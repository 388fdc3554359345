//! Files written whole or not at all.
//!
//! A crash (or a full disk) while a file is written must never leave half a file under the
//! target's name, nor lose the file that was there. [`write_atomic`] writes a temporary file in
//! the target's folder, syncs it, renames it into place (or, with [`Replace::No`], refuses when
//! the name is taken, without a window in which the old file is gone), and then syncs the
//! folder: until the folder's entry is on disk, a power cut may undo the rename, and a journal
//! truncated after a snapshot "written" that way would lose both. Every file kensho-extract
//! writes goes through here.
#![warn(missing_docs)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Whether a file already at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (atomically: readers see the old file or the new one).
    Yes,
    /// Never: the write fails with [`std::io::ErrorKind::AlreadyExists`] and the file stays.
    No,
}

impl From<bool> for Replace {
    fn from(replace: bool) -> Self {
        if replace { Replace::Yes } else { Replace::No }
    }
}

/// Writes the file at `path` whole: `produce` writes its content into a buffered temporary file
/// in the same folder, which is synced and renamed into place; then the folder is synced.
///
/// `mode` sets the Unix permissions exactly (such as `0o600` for a private key); `None` follows
/// the umask as a new file would (`0o666` less the umask), not a temporary file's `0o600`. On any
/// error the temporary file is removed and nothing changes at `path`.
pub fn write_atomic(
    path: &Path,
    replace: Replace,
    mode: Option<u32>,
    produce: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".partial-");
    // A temporary file is created 0600, so a private key is never readable by others, not even
    // for a moment; a file without a mode of its own follows the umask instead.
    #[cfg(unix)]
    use std::os::unix::fs::PermissionsExt;
    #[cfg(unix)]
    if mode.is_none() {
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let file = builder.tempfile_in(dir)?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut out = BufWriter::new(file);
    produce(&mut out)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.as_file().sync_all()?;
    match replace {
        Replace::Yes => file.persist(path).map(drop).map_err(|e| e.error)?,
        Replace::No => file
            .persist_noclobber(path)
            .map(drop)
            .map_err(|e| e.error)?,
    }
    sync_dir(dir)
}

/// [`write_atomic`] of a byte slice.
pub fn write_bytes_atomic(
    path: &Path,
    bytes: &[u8],
    replace: Replace,
    mode: Option<u32>,
) -> std::io::Result<()> {
    write_atomic(path, replace, mode, |out| out.write_all(bytes))
}

/// Makes the entries of `dir` (a rename, a new file) durable. A file system that cannot sync a
/// folder (some network and Windows file systems) is not an error: there is nothing more to do.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        match File::open(dir).and_then(|d| d.sync_all()) {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_replaces_only_when_asked_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.json");
        write_bytes_atomic(&path, b"one", Replace::No, None).expect("writes");
        let refused = write_bytes_atomic(&path, b"two", Replace::No, None).expect_err("taken");
        assert_eq!(refused.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).expect("reads"), b"one");
        write_bytes_atomic(&path, b"three", Replace::Yes, None).expect("replaces");
        assert_eq!(std::fs::read(&path).expect("reads"), b"three");
        // A producer that fails: the old file stays, no temporary file is left.
        let failed = write_atomic(&path, Replace::Yes, None, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).expect("reads"), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn modes_are_as_asked_or_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .expect("umask");
        let dir = tempfile::tempdir().expect("tempdir");
        let private = dir.path().join("key.pem");
        write_bytes_atomic(&private, b"k", Replace::No, Some(0o600)).expect("writes");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&private), 0o600);
        let public = dir.path().join("out.json");
        write_bytes_atomic(&public, b"{}", Replace::No, None).expect("writes");
        assert_eq!(mode(&public), 0o666 & !umask);
    }
}
