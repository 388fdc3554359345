//! Why one document of a batch could not be done: the typed cause, so a program can tell a
//! missing file from a refused request from a wait that ended.

use std::path::PathBuf;

use extract_api::ApiError;

use crate::PollError;

/// Why one document of a batch met an error (the others go on).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The input (or an output) could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// This worker's lease on its shard lapsed or was taken: it stopped before acting.
    #[error(transparent)]
    LeaseLost(#[from] crate::LeaseLost),
    /// A request about it failed (refused, credentials, a bad file…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Waiting for its job failed in a way retrying would not fix.
    #[error(transparent)]
    Poll(#[from] PollError),
    /// Every submission had an unknown outcome; the service may hold that many jobs.
    #[error(
        "{submissions} submissions of {} had an unknown outcome; giving up: {last}",
        path.display()
    )]
    GaveUp {
        /// The input.
        path: PathBuf,
        /// Submissions sent.
        submissions: usize,
        /// The last submission's error.
        #[source]
        last: ApiError,
    },
    /// A stored output document could not be read back.
    #[error("{}: not an output document: {source}", path.display())]
    StoredOutput {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest could not be saved, so progress would be lost.
    #[error("cannot update the manifest in {}: {source}", dir.display())]
    Manifest {
        /// The output folder.
        dir: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A task of the runner failed unexpectedly.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DocumentError {
    /// True when running the batch again may succeed for this document.
    pub fn is_transient(&self) -> bool {
        match self {
            DocumentError::Api(e) => e.is_transient(),
            DocumentError::Poll(e) => e.is_transient(),
            DocumentError::GaveUp { .. } => true,
            _ => false,
        }
    }

    /// True when the service may hold a job for this document that the manifest has no id for.
    pub fn may_have_created_job(&self) -> bool {
        match self {
            DocumentError::Api(e) => e.may_have_created_job(),
            DocumentError::GaveUp { .. } => true,
            _ => false,
        }
    }
}
