//! The claim stage: the output folder, or this shard of it, becomes this run's. A local folder
//! is locked (the operating system releases the lock when the process ends, however it ends);
//! a store shard is leased, and the lease's fence is what every later action asks first. The
//! manifest and its journal are opened once the claim is held.

use std::time::Duration;

use crate::fence::Fence;
use crate::folder::OutputFolder;
use crate::journal::Journal;
use crate::lease::Lease;
use crate::lock::FolderLock;
use crate::manifest::Manifest;

impl OutputFolder {
    /// Makes the folders, takes the run's claim (a local folder's lock; in a store, the
    /// shard's lease of `lease` term), and opens the manifest and its journal.
    pub(crate) async fn claim(
        &self,
        wait_for_lock: bool,
        lease: Duration,
        fencing: bool,
    ) -> std::io::Result<(Claim, Manifest, Journal)> {
        match self {
            OutputFolder::Local { dir, state } => {
                for folder in [dir, state] {
                    std::fs::create_dir_all(folder).map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", folder.display()))
                    })?;
                }
                let lock = FolderLock::acquire(state, wait_for_lock).await?;
                let state = state.clone();
                let (manifest, journal) =
                    tokio::task::spawn_blocking(move || Journal::open(&state))
                        .await
                        .map_err(std::io::Error::other)??;
                Ok((Claim::Lock(lock), manifest, journal))
            }
            OutputFolder::Store { at, state } => {
                let shown = self.manifest_shown();
                let lease = Lease::acquire(
                    at.store.clone(),
                    state,
                    &shown,
                    lease,
                    wait_for_lock,
                    fencing,
                )
                .await?;
                let claim = lease.map_or(Claim::Nothing, Claim::Lease);
                let opened =
                    Journal::open_fenced(at.store.clone(), state.clone(), claim.fence()).await;
                match opened {
                    Ok((manifest, journal)) => Ok((claim, manifest, journal)),
                    Err(e) => {
                        claim.release().await;
                        Err(std::io::Error::new(e.kind(), format!("{}: {e}", at.url())))
                    }
                }
            }
        }
    }
}

/// What keeps other runs off a shard while this one runs.
#[derive(Debug)]
pub(crate) enum Claim {
    /// A local folder's lock, released when dropped.
    Lock(FolderLock),
    /// A store shard's lease.
    Lease(Lease),
    /// A store that cannot write conditionally.
    Nothing,
}

impl Claim {
    /// The fence every action under this claim asks first: a lease's; a lock never lapses.
    pub(crate) fn fence(&self) -> Fence {
        match self {
            Claim::Lease(lease) => lease.fence().clone(),
            Claim::Lock(_) | Claim::Nothing => Fence::unbounded(""),
        }
    }

    /// Lets the next run in at once.
    pub(crate) async fn release(self) {
        match self {
            Claim::Lock(lock) => drop(lock),
            Claim::Lease(lease) => lease.release().await,
            Claim::Nothing => {}
        }
    }
}
