//! Why waiting for a job ended without its output.

use std::time::Duration;

use extract_api::ApiError;

/// Why a wait ended without an output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The service says the job failed.
    #[error("request {request_id} failed on the service side: {error}")]
    Failed {
        /// The request id.
        request_id: String,
        /// The service's reason.
        error: String,
    },
    /// The deadline passed first; the job may still finish: resume it from its request id.
    #[error(
        "request {request_id} was not done after {elapsed:?} ({polls} polls, last status {last_status}); resume it with `kensho-extract wait {request_id}`"
    )]
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
    #[error("polling request {request_id}: {source}")]
    Api {
        /// The request id.
        request_id: String,
        /// The API error.
        #[source]
        source: ApiError,
    },
}
