//! Writing results: to stdout, or to a file that appears only when complete.

use std::io::Write;
use std::path::Path;

use crate::Failure;

/// Writes `bytes` to `path` atomically (a temporary file beside it, then a rename), so a
/// reader never sees half a file and a failure leaves nothing behind; or to stdout when `path`
/// is `None`.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    if path.is_some() {
        return write_with(path, &mut |out| Ok(out.write_all(bytes)?));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    if !bytes.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Streams what `produce` writes to `path` atomically (as [`write`] does: nothing is left
/// behind when it fails), or to stdout when `path` is `None` or `-`.
pub fn write_with(
    path: Option<&Path>,
    produce: &mut dyn FnMut(&mut dyn Write) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let path = path.filter(|p| *p != Path::new("-"));
    let Some(path) = path else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        produce(&mut out)?;
        out.flush()?;
        return Ok(());
    };
    // A producer's own failure is returned as it is; the file's, with its path.
    let mut failed = None;
    let written = extract_fs::write_atomic(path, extract_fs::Replace::Yes, None, |out| {
        produce(out).map_err(|failure| {
            failed = Some(failure);
            std::io::Error::other("the output could not be made")
        })
    });
    if let Some(failure) = failed {
        return Err(failure);
    }
    written.map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process's umask, from `/proc/self/status` (Linux).
    #[cfg(target_os = "linux")]
    fn umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .expect("umask line");
        u32::from_str_radix(line.trim(), 8).expect("octal")
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn outputs_follow_the_umask_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.md");
        write(Some(&path), b"# hi").expect("writes");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        assert_ne!(mode, 0o600, "the umask of a test run is not 0177");
    }

    #[test]
    fn writes_whole_files_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.json");
        write(Some(&path), b"{}").expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), b"{}");
        let missing = dir.path().join("no/such/dir/out.json");
        assert!(write(Some(&missing), b"{}").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            names,
            [std::ffi::OsString::from("out.json")],
            "no temporary files left"
        );
    }
}
