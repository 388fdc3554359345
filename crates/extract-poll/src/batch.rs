//! Many documents at once: bounded concurrency, one shared client, a manifest that makes a
//! re-run resume, and outputs that appear only when complete.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use extract_api::{ApiError, ExtractApi, ExtractionOptions, OutputDocument};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::manifest::EntryState;
use crate::{JobEvent, JobHandle, Manifest, ManifestEntry, PollError, PollPolicy, Poller};

/// How many times an input is resubmitted after submissions of unknown outcome before giving up.
const MAX_UNKNOWN_OUTCOMES: usize = 3;

/// Turns an output document into extra files: `(extension, bytes)` pairs, such as `("md", …)`.
pub type Render = dyn Fn(&OutputDocument) -> Vec<(String, Vec<u8>)> + Send + Sync;

/// What happened to one input.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Extracted; these files were written.
    Succeeded(Vec<PathBuf>),
    /// Already extracted by an earlier run with the same content; nothing was sent.
    AlreadyDone,
    /// The service says the extraction failed.
    Failed(String),
    /// The deadline passed; the job may still finish (`kensho-extract wait ID`, or run again).
    TimedOut(String),
    /// Something else went wrong (the file, the network, credentials…).
    Error(String),
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
pub struct BatchSummary {
    /// Inputs extracted in this run.
    pub succeeded: usize,
    /// Inputs an earlier run had extracted.
    pub already_done: usize,
    /// Inputs whose earlier job was resumed instead of resubmitted.
    pub resumed: usize,
    /// Inputs the service failed.
    pub failed: usize,
    /// Inputs whose wait hit the deadline, with their request ids.
    pub timed_out: Vec<String>,
    /// Inputs that met another error.
    pub errors: usize,
    /// Submissions of unknown outcome that were followed by a new submission.
    pub resubmitted_after_unknown_outcome: usize,
    /// Submissions sent.
    pub submissions: usize,
}

/// Runs many documents. Build it, then call [`BatchRunner::run`].
pub struct BatchRunner<A> {
    api: A,
    options: ExtractionOptions,
    policy: PollPolicy,
    concurrency: usize,
    out_dir: PathBuf,
    render: Option<Arc<Render>>,
    on_event: Arc<dyn Fn(BatchEvent) + Send + Sync>,
}

impl<A> std::fmt::Debug for BatchRunner<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRunner")
            .field("out_dir", &self.out_dir)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// The state a run shares between its tasks.
struct Shared {
    manifest: Mutex<Manifest>,
    summary: std::sync::Mutex<BatchSummary>,
}

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// A runner writing to `out_dir`, four documents at a time.
    pub fn new(api: A, out_dir: impl Into<PathBuf>) -> Self {
        BatchRunner {
            api,
            options: ExtractionOptions::new(),
            policy: PollPolicy::default(),
            concurrency: 4,
            out_dir: out_dir.into(),
            render: None,
            on_event: Arc::new(|_| {}),
        }
    }

    /// The extraction options for every document.
    pub fn options(mut self, options: ExtractionOptions) -> Self {
        self.options = options;
        self
    }

    /// The polling policy (its deadline applies to each document).
    pub fn policy(mut self, policy: PollPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Documents in flight at once (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Extra files to write beside each `<name>.json`, such as Markdown.
    pub fn render(mut self, render: Arc<Render>) -> Self {
        self.render = Some(render);
        self
    }

    /// Called for every event, from the runner's tasks.
    pub fn on_event(mut self, on_event: impl Fn(BatchEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Arc::new(on_event);
        self
    }

    /// Runs `inputs` (files, and directories searched for `*.pdf`), returning each input's
    /// outcome and the counts. The manifest in the output directory is updated after every step,
    /// so the future can be dropped (Ctrl-C) at any point and a new run resumes.
    pub async fn run(
        &self,
        inputs: &[PathBuf],
    ) -> Result<(Vec<(PathBuf, BatchOutcome)>, BatchSummary), std::io::Error> {
        std::fs::create_dir_all(&self.out_dir)?;
        let files = expand(inputs)?;
        let names = output_names(&files);
        let shared = Arc::new(Shared {
            manifest: Mutex::new(Manifest::load(&self.out_dir)?),
            summary: std::sync::Mutex::new(BatchSummary::default()),
        });
        let results: Vec<(PathBuf, BatchOutcome)> =
            futures_util::stream::iter(files.into_iter().zip(names))
                .map(|(file, name)| {
                    let shared = shared.clone();
                    async move {
                        let outcome = self.process(&file, &name, &shared).await;
                        {
                            let mut summary = shared
                                .summary
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                            match &outcome {
                                BatchOutcome::Succeeded(_) => summary.succeeded += 1,
                                BatchOutcome::AlreadyDone => summary.already_done += 1,
                                BatchOutcome::Failed(_) => summary.failed += 1,
                                BatchOutcome::TimedOut(id) => summary.timed_out.push(id.clone()),
                                BatchOutcome::Error(_) => summary.errors += 1,
                            }
                        }
                        (self.on_event)(BatchEvent::Finished {
                            input: file.clone(),
                            outcome: outcome.clone(),
                        });
                        (file, outcome)
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        let summary = shared
            .summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok((results, summary))
    }

    async fn update(
        &self,
        shared: &Shared,
        key: &str,
        change: impl FnOnce(&mut ManifestEntry),
    ) -> std::io::Result<()> {
        let mut manifest = shared.manifest.lock().await;
        if let Some(entry) = manifest.documents.get_mut(key) {
            change(entry);
        }
        manifest.save(&self.out_dir)
    }

    async fn process(&self, file: &Path, name: &str, shared: &Shared) -> BatchOutcome {
        match self.try_process(file, name, shared).await {
            Ok(outcome) => outcome,
            Err(e) => BatchOutcome::Error(e),
        }
    }

    async fn try_process(
        &self,
        file: &Path,
        name: &str,
        shared: &Shared,
    ) -> Result<BatchOutcome, String> {
        let key = file.to_string_lossy().into_owned();
        let path = file.to_path_buf();
        let sha256 = hash_file(file.to_path_buf())
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let io = |e: std::io::Error| format!("cannot update the manifest: {e}");

        // What an earlier run left.
        let earlier = shared
            .manifest
            .lock()
            .await
            .documents
            .get(&key)
            .cloned()
            .filter(|e| e.sha256 == sha256);
        if let Some(entry) = &earlier
            && entry.state == EntryState::Succeeded
            && !entry.outputs.is_empty()
            && entry.outputs.iter().all(|o| o.exists())
        {
            return Ok(BatchOutcome::AlreadyDone);
        }
        let resumable = earlier
            .as_ref()
            .and_then(|e| match (e.state, &e.request_id, e.mode) {
                (EntryState::Submitted, Some(id), Some(mode)) => Some(JobHandle {
                    request_id: id.clone(),
                    mode,
                }),
                _ => None,
            });
        let job = match resumable {
            Some(job) => {
                shared
                    .summary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .resumed += 1;
                (self.on_event)(BatchEvent::Started {
                    input: path.clone(),
                    request_id: job.request_id.clone(),
                    resumed: true,
                });
                job
            }
            None => {
                // A submission started by an earlier run and never answered may have created a job.
                let mut unknown = earlier.map(|e| e.unknown_outcomes).unwrap_or_default();
                if shared
                    .manifest
                    .lock()
                    .await
                    .documents
                    .get(&key)
                    .is_some_and(|e| e.sha256 == sha256 && e.state == EntryState::Submitting)
                {
                    unknown.push("an earlier run stopped while submitting".into());
                    self.count_unknown(shared);
                }
                {
                    let mut manifest = shared.manifest.lock().await;
                    manifest.documents.insert(
                        key.clone(),
                        ManifestEntry {
                            sha256: sha256.clone(),
                            state: EntryState::Submitting,
                            request_id: None,
                            mode: None,
                            unknown_outcomes: unknown,
                            error: None,
                            outputs: vec![],
                        },
                    );
                    manifest.save(&self.out_dir).map_err(io)?;
                }
                let job = self.submit(file, &key, shared).await?;
                (self.on_event)(BatchEvent::Started {
                    input: path.clone(),
                    request_id: job.request_id.clone(),
                    resumed: false,
                });
                job
            }
        };

        let poller = Poller::new(self.api.clone(), self.policy.clone());
        let on_event = self.on_event.clone();
        let input = path.clone();
        let waited = poller
            .wait_with(&job, move |event| match event {
                JobEvent::Polled { state, polls, .. } => on_event(BatchEvent::Progress {
                    input: input.clone(),
                    state: state.into(),
                    polls,
                }),
                JobEvent::Retrying { error, .. } => on_event(BatchEvent::Progress {
                    input: input.clone(),
                    state: format!("retrying ({error})"),
                    polls: 0,
                }),
                _ => {}
            })
            .await;
        match waited {
            Ok(document) => {
                let outputs = self
                    .write_outputs(name, &document)
                    .map_err(|e| format!("writing the output of {}: {e}", file.display()))?;
                let written = outputs.clone();
                self.update(shared, &key, |e| {
                    e.state = EntryState::Succeeded;
                    e.outputs = written;
                })
                .await
                .map_err(io)?;
                Ok(BatchOutcome::Succeeded(outputs))
            }
            Err(PollError::Failed { error, .. }) => {
                let reason = error.clone();
                self.update(shared, &key, |e| {
                    e.state = EntryState::Failed;
                    e.error = Some(reason);
                })
                .await
                .map_err(io)?;
                Ok(BatchOutcome::Failed(error))
            }
            // The job is still Submitted in the manifest: a re-run resumes it.
            Err(PollError::Deadline { request_id, .. }) => Ok(BatchOutcome::TimedOut(request_id)),
            Err(other) => Err(other.to_string()),
        }
    }

    fn count_unknown(&self, shared: &Shared) {
        shared
            .summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .resubmitted_after_unknown_outcome += 1;
    }

    /// Submits, resubmitting (and recording it) when a submission's outcome is unknown.
    async fn submit(&self, file: &Path, key: &str, shared: &Shared) -> Result<JobHandle, String> {
        let io = |e: std::io::Error| format!("cannot update the manifest: {e}");
        loop {
            shared
                .summary
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .submissions += 1;
            match self.api.submit_file(file, &self.options).await {
                Ok(submission) => {
                    let job: JobHandle = submission.into();
                    let recorded = job.clone();
                    self.update(shared, key, |e| {
                        e.state = EntryState::Submitted;
                        e.request_id = Some(recorded.request_id);
                        e.mode = Some(recorded.mode);
                    })
                    .await
                    .map_err(io)?;
                    return Ok(job);
                }
                Err(error @ ApiError::OutcomeUnknown { .. }) => {
                    let reason = error.to_string();
                    let mut tries = 0;
                    let noted = reason.clone();
                    self.update(shared, key, |e| {
                        e.unknown_outcomes.push(noted);
                        tries = e.unknown_outcomes.len();
                    })
                    .await
                    .map_err(io)?;
                    if tries > MAX_UNKNOWN_OUTCOMES {
                        return Err(format!(
                            "{} submissions of {} had an unknown outcome; giving up: {reason}",
                            tries,
                            file.display()
                        ));
                    }
                    self.count_unknown(shared);
                    tracing::warn!(file = %file.display(), "resubmitting after an unknown outcome: {reason}");
                    (self.on_event)(BatchEvent::Resubmitting {
                        input: file.to_path_buf(),
                        reason,
                    });
                }
                Err(error) => {
                    let reason = error.to_string();
                    let noted = reason.clone();
                    self.update(shared, key, |e| {
                        e.state = EntryState::Failed;
                        e.error = Some(noted);
                    })
                    .await
                    .map_err(io)?;
                    return Err(reason);
                }
            }
        }
    }

    /// Writes `<name>.json` and the rendered files, each atomically.
    fn write_outputs(
        &self,
        name: &str,
        document: &OutputDocument,
    ) -> std::io::Result<Vec<PathBuf>> {
        let mut files = vec![("json".to_string(), serde_json::to_vec_pretty(document)?)];
        if let Some(render) = &self.render {
            files.extend(render(document));
        }
        let mut written = Vec::new();
        for (extension, bytes) in files {
            let path = self.out_dir.join(format!("{name}.{extension}"));
            let mut file = tempfile::Builder::new()
                .prefix(".partial-")
                .tempfile_in(&self.out_dir)?;
            file.write_all(&bytes)?;
            file.as_file().sync_all()?;
            file.persist(&path).map_err(|e| e.error)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Files as given, and the `*.pdf` files under given directories, sorted, without repeats.
fn expand(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let metadata = std::fs::metadata(input)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            collect_pdfs(input, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

fn collect_pdfs(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_pdfs(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// Output names from file stems, made unique (`report`, `report-2`, …) in input order.
fn output_names(files: &[PathBuf]) -> Vec<String> {
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map_or_else(|| "document".into(), |s| s.to_string_lossy().into_owned());
            let count = used.entry(stem.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                stem
            } else {
                format!("{stem}-{count}")
            }
        })
        .collect()
}

async fn hash_file(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_unknown_outcome_is_resubmitted_recorded_and_counted() {
        use std::sync::atomic::{AtomicU32, Ordering};

        use extract_api::{MockExtractApi, RetrievalMode, Submission};

        let submissions = Arc::new(AtomicU32::new(0));
        let counter = submissions.clone();
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(move |_, _| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(ApiError::OutcomeUnknown {
                    endpoint: "POST /v3/extractions".into(),
                    what: "the service answered HTTP 500".into(),
                    status: Some(500),
                })
            } else {
                Ok(Submission {
                    request_id: "second".into(),
                    mode: RetrievalMode::Inline,
                })
            }
        });
        api.expect_status().returning(|_, _| {
            Ok(serde_json::from_value(serde_json::json!({"status": "success", "output": {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []}})).expect("status"))
        });
        let inputs = tempfile::tempdir().expect("tempdir");
        let out = tempfile::tempdir().expect("tempdir");
        let pdf = inputs.path().join("a.pdf");
        std::fs::write(&pdf, "%PDF-1.4").expect("writes");
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = events.clone();
        let runner = BatchRunner::new(Arc::new(api), out.path()).on_event(move |e| {
            if let BatchEvent::Resubmitting { reason, .. } = e {
                seen.lock().expect("lock").push(reason);
            }
        });
        let (results, summary) = runner.run(&[pdf]).await.expect("runs");
        assert!(matches!(results[0].1, BatchOutcome::Succeeded(_)));
        assert_eq!(
            (
                summary.submissions,
                summary.resubmitted_after_unknown_outcome,
                summary.succeeded
            ),
            (2, 1, 1)
        );
        assert_eq!(events.lock().expect("lock").len(), 1);
        let manifest = Manifest::load(out.path()).expect("manifest");
        let entry = manifest.documents.values().next().expect("entry");
        assert_eq!(entry.request_id.as_deref(), Some("second"));
        assert_eq!(entry.unknown_outcomes.len(), 1);
        assert!(entry.unknown_outcomes[0].contains("HTTP 500"));
    }

    #[test]
    fn names_are_unique_stems() {
        let files = [
            PathBuf::from("a/report.pdf"),
            PathBuf::from("b/report.pdf"),
            PathBuf::from("c/other.PDF"),
        ];
        assert_eq!(output_names(&files), ["report", "report-2", "other"]);
    }

    #[test]
    fn directories_expand_to_their_pdfs() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        for name in ["b.pdf", "a.pdf", "notes.txt", "sub/c.PDF"] {
            std::fs::write(dir.path().join(name), "x").expect("writes");
        }
        let files = expand(&[dir.path().to_path_buf(), dir.path().join("a.pdf")]).expect("expands");
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir.path())
                    .expect("inside")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.pdf", "b.pdf", "sub/c.PDF"]);
        assert!(expand(&[dir.path().join("missing.pdf")]).is_err());
    }
}
