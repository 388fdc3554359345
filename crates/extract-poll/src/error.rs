//! Why waiting for a job ended without its output.

use std::time::Duration;

use extract_api::{ApiError, ErrorKind};

/// Why a wait ended without an output. [`PollError::kind`] says what kind of failure it is;
/// its `Display` is this level's message and the cause, when there is one, is `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The service says the job failed.
    #[error("request {request_id} failed on the service side: {error}")]
    #[non_exhaustive]
    Failed {
        /// The request id.
        request_id: String,
        /// The service's reason.
        error: String,
    },
    /// The deadline passed first; the job may still finish: resume it from its request id.
    #[error(
        "request {request_id} was not done after {:.1}s ({polls} polls, last status {last_status}); it may still finish: wait for it again from its request id",
        elapsed.as_secs_f64()
    )]
    #[non_exhaustive]
    Deadline {
        /// The request id.
        request_id: String,
        /// How long was waited.
        elapsed: Duration,
        /// How many polls were made.
        polls: u32,
        /// The last status seen.
        last_status: String,
    },
    /// A poll failed in a way retrying cannot fix (401, 404, 400…).
    #[error("polling request {request_id}")]
    #[non_exhaustive]
    Api {
        /// The request id.
        request_id: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
}

impl PollError {
    /// The request the wait was about.
    pub fn request_id(&self) -> &str {
        match self {
            PollError::Failed { request_id, .. }
            | PollError::Deadline { request_id, .. }
            | PollError::Api { request_id, .. } => request_id,
        }
    }

    /// What kind of failure this is: [`ErrorKind::JobFailed`], [`ErrorKind::Deadline`], or the
    /// kind of the failed poll.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PollError::Failed { .. } => ErrorKind::JobFailed,
            PollError::Deadline { .. } => ErrorKind::Deadline,
            PollError::Api { source, .. } => source.kind(),
        }
    }

    /// True when waiting again later may succeed: the deadline passed (the job may still
    /// finish), or the last poll failed in a transient way.
    pub fn is_transient(&self) -> bool {
        match self {
            PollError::Deadline { .. } => true,
            PollError::Api { source, .. } => source.is_transient(),
            PollError::Failed { .. } => false,
        }
    }

    /// Never true: polling creates no job.
    pub fn may_have_created_job(&self) -> bool {
        false
    }

    /// The `Retry-After` the service asked for on the last poll, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::Api { source, .. } => source.retry_after(),
            _ => None,
        }
    }
}
