//! Where a job is, and how to find it again.

use extract_api::{OutputDocument, RetrievalMode, Status};
use serde::{Deserialize, Serialize};

/// A job as it can be saved and resumed: its request id and retrieval mode are all it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobHandle {
    /// The service's request id.
    pub request_id: String,
    /// Which endpoint to poll.
    pub mode: RetrievalMode,
}

impl JobHandle {
    /// The job of request `request_id`, polled in `mode`: all it takes to resume it.
    pub fn new(request_id: impl Into<String>, mode: RetrievalMode) -> Self {
        JobHandle {
            request_id: request_id.into(),
            mode,
        }
    }
}

impl From<extract_api::Submission> for JobHandle {
    fn from(s: extract_api::Submission) -> Self {
        JobHandle {
            request_id: s.request_id,
            mode: s.mode,
        }
    }
}

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
