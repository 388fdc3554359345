//! The last stage of a run: what happened to each input, the counts, and the events a display
//! follows while it runs.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use extract_api::OutputDocument;

use crate::DocumentError;

/// What happened to one input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Extracted (or its outputs completed from the stored output); these files were written.
    Succeeded(Vec<PathBuf>),
    /// Already extracted by an earlier run with the same content; nothing was sent.
    AlreadyDone,
    /// The service says the extraction failed.
    Failed(String),
    /// The deadline passed; the job may still finish (wait for it from its request id, or run again).
    TimedOut(String),
    /// The output document was written, but turning it into another format failed.
    ConversionFailed {
        /// The files that were written (the output document at least).
        written: Vec<PathBuf>,
        /// Why the conversion failed.
        error: String,
    },
    /// Something else went wrong (the file, the network, credentials…): the typed cause,
    /// shared so that the outcome can be cloned for displays.
    Error(Arc<DocumentError>),
}

/// Outcomes are equal when they say the same; two errors, when their messages are.
impl PartialEq for BatchOutcome {
    fn eq(&self, other: &Self) -> bool {
        use BatchOutcome::*;
        match (self, other) {
            (Succeeded(a), Succeeded(b)) => a == b,
            (AlreadyDone, AlreadyDone) => true,
            (Failed(a), Failed(b)) | (TimedOut(a), TimedOut(b)) => a == b,
            (
                ConversionFailed { written, error },
                ConversionFailed {
                    written: w,
                    error: e,
                },
            ) => written == w && error == e,
            (Error(a), Error(b)) => a.to_string() == b.to_string(),
            _ => false,
        }
    }
}

/// What [`BatchRunner::run`] did: each input's outcome, in the order they finished, and the
/// counts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchReport {
    /// Each input and its outcome.
    pub documents: Vec<(PathBuf, BatchOutcome)>,
    /// The counts.
    pub summary: BatchSummary,
}

/// Progress of a batch, for displays.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum BatchEvent {
    /// An input was submitted (or its earlier job resumed).
    Started {
        /// The input.
        input: PathBuf,
        /// Its request id.
        request_id: String,
        /// True when an earlier run's job is being resumed.
        resumed: bool,
    },
    /// A poll answered or a retry is coming.
    Progress {
        /// The input.
        input: PathBuf,
        /// The state, such as `pending`.
        state: String,
        /// Polls so far.
        polls: u32,
    },
    /// A submission's outcome was unknown; the input is being submitted again.
    Resubmitting {
        /// The input.
        input: PathBuf,
        /// Why.
        reason: String,
    },
    /// An input's outputs take another name than its own, because a file the runner did not
    /// write holds that name.
    Renamed {
        /// The input.
        input: PathBuf,
        /// The file left alone.
        kept: PathBuf,
        /// The name its outputs take instead.
        name: String,
    },
    /// An input is finished.
    Finished {
        /// The input.
        input: PathBuf,
        /// How.
        outcome: BatchOutcome,
    },
}

/// The counts of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// Inputs extracted in this run.
    pub succeeded: usize,
    /// Inputs an earlier run had extracted.
    pub already_done: usize,
    /// Inputs whose earlier job was resumed instead of resubmitted.
    pub resumed: usize,
    /// Inputs whose missing outputs were written from the stored output document, or fetched
    /// again from their request, without a new submission.
    pub completed_without_submission: usize,
    /// Inputs the service failed.
    pub failed: usize,
    /// Inputs whose output document was written but another format could not be made.
    pub conversion_failed: usize,
    /// Inputs whose wait hit the deadline, with their request ids.
    pub timed_out: Vec<String>,
    /// Inputs that met another error.
    pub errors: usize,
    /// Submissions of unknown outcome that were followed by a new submission.
    pub resubmitted_after_unknown_outcome: usize,
    /// Submissions sent.
    pub submissions: usize,
    /// Inputs whose output came from the output cache, without a request.
    pub from_cache: usize,
    /// Bytes appended to the manifest's journal: linear in the number of documents.
    pub journal_bytes: u64,
    /// Lines (records) appended to the journal.
    pub journal_records: u64,
    /// Durable writes that carried them (`fsync`s, or segment PUTs on a store): records per
    /// commit say how well concurrent documents' records group.
    pub journal_commits: u64,
}

/// Pages with content in `document`: the distinct page numbers its nodes are located on.
pub(crate) fn pages_of(document: &OutputDocument) -> u32 {
    let pages: HashSet<i64> = document
        .nodes()
        .filter_map(|n| n.locations.as_ref().and_then(Option::as_ref))
        .flatten()
        .map(|l| l.page_number)
        .collect();
    u32::try_from(pages.len()).unwrap_or(u32::MAX)
}
