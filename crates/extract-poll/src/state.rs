//! Where a job is, and how to find it again.

use extract_api::{OutputDocument, Status};

/// A job as it can be saved and resumed: the type a submission returns
/// ([`extract_api::JobHandle`]), one type for both layers.
pub use extract_api::JobHandle;

/// The state of a job.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobState {
    /// Created; not polled yet.
    Submitted,
    /// Waiting for its document (pre-signed path).
    AwaitingUpload,
    /// Uploaded; waiting for the upload-complete call (pre-signed path).
    AwaitingUploadComplete,
    /// Being processed. Unknown statuses count as this (they are logged).
    Pending,
    /// Done, with its output.
    Succeeded(Box<OutputDocument>),
    /// Failed on the service side, with its reason.
    Failed(String),
}

impl JobState {
    /// True for the two states that end a job.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobState::Succeeded(_) | JobState::Failed(_))
    }

    /// A short name for progress displays: `pending`, `success`…
    pub fn label(&self) -> &'static str {
        match self {
            JobState::Submitted => "submitted",
            JobState::AwaitingUpload => "awaiting upload",
            JobState::AwaitingUploadComplete => "awaiting upload-complete",
            JobState::Pending => "pending",
            JobState::Succeeded(_) => "success",
            JobState::Failed(_) => "failed",
        }
    }

    /// The state a status (without its output) stands for.
    pub(crate) fn from_status(status: &Status, error: Option<String>) -> JobState {
        match status {
            Status::Pending => JobState::Pending,
            Status::AwaitingDocumentUpload => JobState::AwaitingUpload,
            Status::AwaitingDocumentUploadCompleteNotification => JobState::AwaitingUploadComplete,
            Status::Failed => {
                JobState::Failed(error.unwrap_or_else(|| "the service gave no reason".into()))
            }
            // Success is decided by the caller, which holds the output.
            Status::Success => JobState::Pending,
            other => {
                tracing::warn!(status = %other, "unknown job status, treated as still running");
                JobState::Pending
            }
        }
    }
}
