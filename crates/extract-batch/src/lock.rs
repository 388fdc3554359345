//! The output folder belongs to one run at a time: an advisory lock on a file in it, held for
//! the run's whole life and released by the operating system when the process ends, however it
//! ends (so a crash never leaves a stale lock behind).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = ".kensho-extract.lock";

/// An exclusive lock on an output folder; dropped, it is released.
#[derive(Debug)]
pub struct FolderLock {
    // Held open for the lock's life; the OS releases the lock when it closes.
    _file: File,
    path: PathBuf,
}

impl FolderLock {
    /// Takes the lock on `dir`. If another process holds it: with `wait`, waits for it;
    /// without, fails at once with [`std::io::ErrorKind::WouldBlock`] and a message naming the
    /// holder's process id.
    pub async fn acquire(dir: &Path, wait: bool) -> std::io::Result<FolderLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let mut attempt = file.try_lock();
        // The lock belongs to the open file, not to the process: a child that another thread of
        // this process is starting holds a copy of every descriptor until it executes its
        // program, and with it a lock this process has just let go. So when the holder is this
        // very process, its lock may only not be gone yet: look again, for a bounded while.
        let mut retries = OWN_LOCK_RETRIES;
        while matches!(attempt, Err(TryLockError::WouldBlock))
            && !wait
            && retries > 0
            && holder_of(&mut file) == std::process::id().to_string()
        {
            retries -= 1;
            tokio::time::sleep(OWN_LOCK_PAUSE).await;
            attempt = file.try_lock();
        }
        match attempt {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait => {
                tracing::info!(lock = %path.display(), "waiting for the output folder's lock");
                file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                    .await
                    .map_err(std::io::Error::other)??;
            }
            Err(TryLockError::WouldBlock) => {
                let holder = holder_of(&mut file);
                let who = if holder.is_empty() {
                    "another run".to_string()
                } else {
                    format!("another run (process {holder})")
                };
                return Err(crate::InUse::error(format!(
                    "{who} is using {}; wait for it to finish",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("cannot lock {}: {e}", path.display()),
                ));
            }
        }
        // Who holds it, for the message another run gives.
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(FolderLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// How often, and how long apart, a lock held by this same process is looked at again before
/// the run is refused (2 s in all: a child's copy lasts until it starts its program).
const OWN_LOCK_RETRIES: u32 = 80;
const OWN_LOCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

/// The process id the holder wrote into the lock file (at most 32 bytes of it), or "".
fn holder_of(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.rewind();
    let _ = Read::by_ref(file).take(32).read_to_string(&mut holder);
    holder.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = FolderLock::acquire(dir.path(), false).await.expect("locks");
        // A second open file description contends like another process would.
        let second = FolderLock::acquire(dir.path(), false)
            .await
            .expect_err("held");
        assert_eq!(second.kind(), std::io::ErrorKind::WouldBlock);
        let message = second.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id()))
                && second
                    .get_ref()
                    .is_some_and(|e| e.downcast_ref::<crate::InUse>().is_some()),
            "{message}"
        );
        let waiter = tokio::spawn({
            let dir = dir.path().to_path_buf();
            async move { FolderLock::acquire(&dir, true).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "waits while the lock is held");
        drop(first);
        let third = tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("gets the lock once released")
            .expect("joins")
            .expect("locks");
        assert!(third.path().ends_with(LOCK_FILE));
    }

    #[tokio::test]
    async fn a_lock_let_go_while_a_child_starts_is_taken_once_the_child_has_started() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = FolderLock::acquire(dir.path(), false).await.expect("locks");
        // As a child being started elsewhere in the process would: it holds a copy of the
        // lock's descriptor (here as its standard input) for a moment after the run let go.
        let copy = first._file.try_clone().expect("dup");
        let mut child = std::process::Command::new("sleep")
            .arg("0.4")
            .stdin(copy)
            .spawn()
            .expect("sleep runs");
        drop(first);
        let started = std::time::Instant::now();
        let second = FolderLock::acquire(dir.path(), false)
            .await
            .expect("taken once the child's copy is gone");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(second.path().ends_with(LOCK_FILE));
        child.wait().expect("sleep ends");
    }
}
