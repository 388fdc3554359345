//! Why one document of a batch could not be done: the typed cause, so a program can tell a
//! missing file from a refused request from a wait that ended.

use std::path::PathBuf;

use extract_api::{ApiError, ErrorKind};

use crate::PollError;

/// Why one document of a batch met an error (the others go on). [`DocumentError::kind`] says
/// what kind of failure it is; its `Display` is this level's message and the cause, when there
/// is one, is `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The input (or an output) could not be read or written.
    #[error("{}", path.display())]
    #[non_exhaustive]
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
    /// The run stopped before this document was sent: another document's token exchange was
    /// refused ([`CredentialsRefused`]).
    #[error("{reason}")]
    #[non_exhaustive]
    Stopped {
        /// The refusal that stopped the run.
        reason: String,
    },
    /// A request about it failed (refused, credentials, a bad file…).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Waiting for its job failed in a way retrying would not fix.
    #[error(transparent)]
    Poll(#[from] PollError),
    /// Every submission had an unknown outcome; the service may hold that many jobs.
    #[error(
        "{submissions} submissions of {} had an unknown outcome; giving up",
        path.display()
    )]
    #[non_exhaustive]
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
    #[error("{}: not an output document", path.display())]
    #[non_exhaustive]
    StoredOutput {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest could not be saved, so progress would be lost.
    #[error("cannot update the manifest in {}", dir.display())]
    #[non_exhaustive]
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
    /// What kind of failure this is: the kind of the request or the wait that failed,
    /// [`ErrorKind::NotFound`] and the like for a file, [`ErrorKind::OutcomeUnknown`] when
    /// every submission's fate was unknown.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DocumentError::File { source, .. } | DocumentError::Manifest { source, .. } => {
                source.kind().into()
            }
            DocumentError::LeaseLost(_) => ErrorKind::LeaseLost,
            DocumentError::Stopped { .. } => ErrorKind::Unauthorized,
            DocumentError::Api(e) => e.kind(),
            DocumentError::Poll(e) => e.kind(),
            DocumentError::GaveUp { .. } => ErrorKind::OutcomeUnknown,
            DocumentError::StoredOutput { .. } => ErrorKind::Decode,
            DocumentError::Internal(_) => ErrorKind::Other,
        }
    }

    /// The `Retry-After` the service asked for, when it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            DocumentError::Api(e) => e.retry_after(),
            DocumentError::Poll(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The request the failure was about, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            DocumentError::Api(e) => e.request_id(),
            DocumentError::Poll(e) => Some(e.request_id()),
            _ => None,
        }
    }

    /// True when running the batch again may succeed for this document.
    pub fn is_transient(&self) -> bool {
        match self {
            DocumentError::Api(e) => e.is_transient(),
            DocumentError::Poll(e) => e.is_transient(),
            DocumentError::GaveUp { .. } => true,
            _ => false,
        }
    }

    /// True when no token could be had because the credentials were refused
    /// ([`ApiError::is_refused_credentials`]): no document of the run can be done with them,
    /// so the run stops ([`CredentialsRefused`]).
    pub fn is_refused_credentials(&self) -> bool {
        match self {
            DocumentError::Stopped { .. } => true,
            DocumentError::Api(e) | DocumentError::Poll(PollError::Api { source: e, .. }) => {
                e.is_refused_credentials()
            }
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

/// Why a run stopped early: the token endpoint refused the credentials (the client id and key,
/// or the refresh token), or the API rejected a given access token. Every later document would
/// be refused alike, so none is sent after it: the documents done before stay written and in
/// the manifest, the jobs in flight stay recorded there, and a run with good credentials
/// resumes. [`crate::BatchRunner::run`] returns it inside its `std::io::Error`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}; the run stopped: nothing more is sent with these credentials")]
#[non_exhaustive]
pub struct CredentialsRefused {
    /// The refusal, as the token source put it.
    pub reason: String,
    /// The counts of the run up to the stop.
    pub summary: crate::BatchSummary,
}
