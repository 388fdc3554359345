//! `--events jsonl`: what `run` and `wait` do, as one JSON object a line on stdout, for programs.
//!
//! The stream's schema is `docs/events.schema.json` (described in `docs/pipeline.md`). Every object
//! has `schema` (the version: a field is only ever added within a version; removing or changing
//! one makes a new version), `event`, and `time` (milliseconds since the Unix epoch). Lines are
//! written whole and flushed one at a time, so a reader sees each as it happens.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use extract_batch::{BatchEvent, BatchOutcome, BatchSummary};
use extract_poll::JobEvent;
use serde_json::{Value, json};

/// The version of the event schema: `docs/events.schema.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// The formats `--events` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventFormat {
    /// One JSON object a line on stdout.
    Jsonl,
}

/// Writes events to stdout, a line each.
#[derive(Debug, Default)]
pub struct Events {
    /// The request id of each input, for the events that name only the input.
    requests: Mutex<HashMap<String, String>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

impl Events {
    /// Writes one event: `fields` joined to `schema`, `event` and `time`. A closed stdout ends
    /// the stream quietly (the reader has gone); the work goes on.
    pub fn emit(&self, event: &str, fields: Value) {
        let mut object = json!({ "schema": SCHEMA_VERSION, "event": event, "time": now_ms() });
        if let (Some(object), Value::Object(fields)) = (object.as_object_mut(), fields) {
            object.extend(fields);
        }
        let mut line = object.to_string();
        line.push('\n');
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }

    fn request_of(&self, input: &str) -> Value {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(input)
            .map_or(Value::Null, |id| Value::String(id.clone()))
    }

    /// An event of `run`'s batch.
    pub fn batch(&self, event: BatchEvent) {
        match event {
            BatchEvent::Started {
                input,
                request_id,
                resumed,
            } => {
                let input = path(&input);
                self.requests
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(input.clone(), request_id.clone());
                self.emit(
                    "submitted",
                    json!({ "input": input, "request_id": request_id, "resumed": resumed }),
                );
            }
            BatchEvent::Progress {
                input,
                state,
                polls,
            } => {
                let input = path(&input);
                self.emit(
                    "polled",
                    json!({ "request_id": self.request_of(&input), "input": input, "state": state, "polls": polls }),
                );
            }
            BatchEvent::Resubmitting { input, reason } => self.emit(
                "retried",
                json!({ "input": path(&input), "what": "submission", "reason": reason }),
            ),
            BatchEvent::Renamed { input, kept, name } => self.emit(
                "renamed",
                json!({ "input": path(&input), "kept": path(&kept), "name": name }),
            ),
            BatchEvent::Finished { input, outcome } => self.finished(&path(&input), &outcome),
            _ => {}
        }
    }

    fn finished(&self, input: &str, outcome: &BatchOutcome) {
        let request_id = self.request_of(input);
        let written = |files: &[std::path::PathBuf]| {
            for file in files {
                self.emit(
                    "written",
                    json!({ "input": input, "request_id": request_id, "path": path(file) }),
                );
            }
        };
        let failed = |kind: &str, reason: String| {
            self.emit(
                "failed",
                json!({ "input": input, "request_id": request_id, "kind": kind, "reason": reason }),
            );
        };
        match outcome {
            BatchOutcome::Succeeded(files) => {
                written(files);
                self.emit(
                    "succeeded",
                    json!({ "input": input, "request_id": request_id, "already_done": false }),
                );
            }
            BatchOutcome::AlreadyDone => self.emit(
                "succeeded",
                json!({ "input": input, "request_id": request_id, "already_done": true }),
            ),
            BatchOutcome::Failed(reason) => failed("service", reason.clone()),
            BatchOutcome::TimedOut(id) => failed(
                "deadline",
                format!("not done in time; resume with `kensho-extract wait {id}` or run again"),
            ),
            BatchOutcome::ConversionFailed {
                written: files,
                error,
            } => {
                written(files);
                failed("conversion", error.clone());
            }
            BatchOutcome::Error(error) => failed("error", crate::exit::describe(&**error)),
            other => failed("error", format!("{other:?}")),
        }
    }

    /// An event of `wait`'s poller.
    pub fn job(&self, event: &JobEvent) {
        match event {
            JobEvent::Polled {
                request_id,
                state,
                polls,
                ..
            } => self.emit(
                "polled",
                json!({ "request_id": request_id, "state": state, "polls": polls }),
            ),
            JobEvent::Retrying {
                request_id,
                error,
                wait,
            } => self.emit(
                "retried",
                json!({ "request_id": request_id, "what": "poll", "reason": error, "wait_ms": u64::try_from(wait.as_millis()).unwrap_or(u64::MAX) }),
            ),
            _ => {}
        }
    }

    /// The last event of `run`.
    pub fn summary(&self, summary: &BatchSummary, refused: usize) {
        self.emit("summary", summary_json(summary, refused));
    }
}

/// A batch's counts as JSON: the `summary` event, and `run --json`. `refused`: inputs preflight
/// kept from being sent.
pub fn summary_json(summary: &BatchSummary, refused: usize) -> Value {
    json!({
        "succeeded": summary.succeeded,
        "already_done": summary.already_done,
        "resumed": summary.resumed,
        "completed_without_submission": summary.completed_without_submission,
        "failed": summary.failed,
        "conversion_failed": summary.conversion_failed,
        "timed_out": summary.timed_out,
        "errors": summary.errors,
        "resubmitted_after_unknown_outcome": summary.resubmitted_after_unknown_outcome,
        "submissions": summary.submissions,
        "from_cache": summary.from_cache,
        "refused": refused,
        "journal_bytes": summary.journal_bytes,
        "journal_records": summary.journal_records,
        "journal_commits": summary.journal_commits,
    })
}
