//! Many documents at once: bounded concurrency, one shared client, a manifest that makes a
//! re-run resume, outputs that appear only when complete, and an output folder that belongs to
//! one run at a time and never loses a file it did not write.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use extract_api::{ApiError, ExtractApi, ExtractionOptions, OutputDocument};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::DocumentError;
use crate::cache::OutputCache;
use crate::folder::OutputFolder;
use crate::journal::Journal;
use crate::location::Location;
use crate::manifest::EntryState;
use crate::names::safe_component;
use crate::shard::Shard;
use crate::source::{InputFile, Listed, mirror_name};
use crate::{
    JobEvent, JobHandle, Manifest, ManifestEntry, PollError, PollPolicy, Poller, PollingPolicy,
};
use extract_poll::Pace;

/// How long a store shard's lease lasts without renewal, unless [`BatchRunner::lease`] says.
const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// How many times an input is resubmitted after submissions of unknown outcome before giving up.
const MAX_UNKNOWN_OUTCOMES: usize = 3;

/// Turns an output document into the bytes of one extra file (such as its Markdown), or says
/// why it cannot.
pub type Render = dyn Fn(&OutputDocument) -> Result<Vec<u8>, String> + Send + Sync;

/// Like [`Render`], with the input file the document was extracted from (a review page draws
/// the PDF's pages under the boxes).
pub type RenderFrom = dyn Fn(&OutputDocument, &Path) -> Result<Vec<u8>, String> + Send + Sync;

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
    /// The deadline passed; the job may still finish (`kensho-extract wait ID`, or run again).
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
}

/// Runs many documents. Build it, then call [`BatchRunner::run`].
#[must_use = "a runner does nothing until `run()`"]
pub struct BatchRunner<A> {
    pub(crate) api: A,
    pub(crate) options: ExtractionOptions,
    pub(crate) policy: Arc<dyn PollingPolicy>,
    concurrency: usize,
    out: Location,
    shard: Option<Shard>,
    skipped: HashSet<String>,
    lease: Duration,
    renderers: Vec<(String, Arc<RenderFrom>)>,
    overwrite: bool,
    wait_for_lock: bool,
    pub(crate) on_event: Arc<dyn Fn(BatchEvent) + Send + Sync>,
    cache: Option<OutputCache>,
    split_pages: Option<u32>,
    /// The batch's seconds per page, learnt from its finished jobs; `None` when turned off.
    pace: Option<Arc<Pace>>,
}

impl<A> std::fmt::Debug for BatchRunner<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchRunner")
            .field("out", &self.out)
            .field("shard", &self.shard)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// The state a run shares between its tasks.
pub(crate) struct Shared {
    pub(crate) folder: OutputFolder,
    pub(crate) manifest: Mutex<Manifest>,
    pub(crate) journal: Journal,
    summary: std::sync::Mutex<BatchSummary>,
}

impl Shared {
    pub(crate) fn count(&self, change: impl FnOnce(&mut BatchSummary)) {
        change(
            &mut self
                .summary
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }
}

/// One input of a run: its file, manifest key and output name, and whether this run named it.
pub(crate) struct Input {
    pub(crate) file: InputFile,
    pub(crate) key: String,
    pub(crate) name: String,
    new: bool,
}

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// A runner writing to `out` (a local folder, or a prefix in an object store), four
    /// documents at a time.
    pub fn new(api: A, out: impl Into<Location>) -> Self {
        BatchRunner {
            api,
            options: ExtractionOptions::new(),
            policy: Arc::new(PollPolicy::default()),
            concurrency: 4,
            out: out.into(),
            shard: None,
            skipped: HashSet::new(),
            lease: DEFAULT_LEASE,
            renderers: Vec::new(),
            overwrite: false,
            wait_for_lock: false,
            on_event: Arc::new(|_| {}),
            cache: None,
            split_pages: None,
            pace: Some(Arc::default()),
        }
    }

    /// Sends a document of more than `pages` pages as parallel jobs of at most `pages` pages
    /// each (page ranges, absolute page numbers) and merges their outputs into one document
    /// ([`crate::split::merge`]). A part that fails is sent again alone. At most 8 parts of a
    /// document are in flight, and a document is cut into at most 1,000 parts.
    pub fn split_pages(mut self, pages: u32) -> Self {
        self.split_pages = Some(pages.max(1));
        self
    }

    /// Whether new jobs are polled near their predicted finish once the batch has learnt its
    /// seconds per page (default: yes). Off, every job follows the polling policy alone.
    pub fn learn_pace(mut self, learn: bool) -> Self {
        self.pace = learn.then(Arc::default);
        self
    }

    /// Reads outputs from, and stores new ones in, a content-addressed cache: a document
    /// extracted before with the same options, in any folder, costs no request.
    pub fn cache(mut self, cache: OutputCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Runs only the inputs of `shard` ([`Shard::contains`]), with its own manifest and journal
    /// under `.kensho-extract/` in the output folder: N workers, one a shard, run the batch
    /// once between them. Outputs are named after each input's path under its folder
    /// (`2024/q1/a.json`), which needs no word between workers.
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// How long a shard's claim on an object-store output folder lasts without renewal
    /// (default 60 s; renewed every third of it while the run lasts). Another worker started
    /// on the same shard waits or fails ([`wait_for_lock`](Self::wait_for_lock)) instead of
    /// running its documents again; a worker killed is replaced after at most this long.
    pub fn lease(mut self, term: Duration) -> Self {
        self.lease = term.max(Duration::from_secs(3));
        self
    }

    /// Inputs to pass over, by manifest key ([`crate::input_key`] of the path as listed): the
    /// files a preflight refused, while the folders they are in still name the others.
    pub fn skip_inputs(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.skipped.extend(keys);
        self
    }

    /// The extraction options for every document.
    pub fn options(mut self, options: ExtractionOptions) -> Self {
        self.options = options;
        self
    }

    /// The polling policy (its deadline applies to each document).
    pub fn policy(mut self, policy: impl PollingPolicy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Documents in flight at once (at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// An extra file to write beside each `<name>.json`: `<name>.<extension>`, made by `render`
    /// (such as Markdown). Call once per format. A re-run that asks for a format an earlier run
    /// did not write makes it from the stored output document, without resubmitting.
    pub fn render(self, extension: impl Into<String>, render: Arc<Render>) -> Self {
        self.render_from(extension, Arc::new(move |document, _| render(document)))
    }

    /// Like [`render`](Self::render), for a format that also reads the input file.
    pub fn render_from(mut self, extension: impl Into<String>, render: Arc<RenderFrom>) -> Self {
        self.renderers.push((extension.into(), render));
        self
    }

    /// Whether files in the output folder that this runner did not write may be replaced
    /// (default: no; an input whose name is taken gets another name, `name-2`, …).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Whether to wait for another run's lock on the output folder (default: fail at once).
    pub fn wait_for_lock(mut self, wait: bool) -> Self {
        self.wait_for_lock = wait;
        self
    }

    /// Called for every event, from the runner's tasks.
    pub fn on_event(mut self, on_event: impl Fn(BatchEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Arc::new(on_event);
        self
    }

    fn extensions(&self) -> impl Iterator<Item = &str> {
        std::iter::once("json").chain(self.renderers.iter().map(|(e, _)| e.as_str()))
    }

    /// Runs `inputs` (files, and directories searched for `*.pdf`), returning each input's
    /// outcome and the counts. The output folder is locked for the run (another run on it fails
    /// at once, or waits with [`BatchRunner::wait_for_lock`]). The manifest in it is updated
    /// after every step, so the future can be dropped (Ctrl-C) at any point and a new run resumes.
    pub async fn run(&self, inputs: &[PathBuf]) -> Result<BatchReport, std::io::Error> {
        let inputs: Vec<Location> = inputs.iter().map(Location::from).collect();
        self.run_from(&inputs).await
    }

    /// Like [`run`](Self::run), for inputs and an output folder anywhere: local folders and
    /// files, prefixes in object stores. A store's listing is streamed and only this shard's
    /// inputs are kept; its objects are read once each, when first needed; outputs are written
    /// to a store as whole objects. Runs that read or write a store, and shards, name outputs
    /// after each input's path under its folder.
    pub async fn run_from(&self, inputs: &[Location]) -> Result<BatchReport, std::io::Error> {
        let folder = OutputFolder::new(&self.out, self.shard);
        let (claim, manifest, journal) = folder.open(self.wait_for_lock, self.lease).await?;
        let result = self.run_claimed(inputs, folder, manifest, journal).await;
        // Whatever the outcome, the next run may start at once (a dropped run's lease ends at
        // its term instead).
        claim.release().await;
        result
    }

    /// The run, once the output folder is this run's.
    async fn run_claimed(
        &self,
        inputs: &[Location],
        folder: OutputFolder,
        mut manifest: Manifest,
        journal: Journal,
    ) -> Result<BatchReport, std::io::Error> {
        let mut listed = crate::source::list(inputs, self.shard).await?;
        listed.retain(|l| !self.skipped.contains(&l.key));
        let mirror = self.shard.is_some()
            || folder.is_store()
            || inputs.iter().any(|i| matches!(i, Location::Store(_)));
        let inputs = self.name_inputs(listed, &mut manifest, mirror, &folder);
        // The names this run gave; the rest are in the snapshot already.
        for input in inputs.iter().filter(|i| i.new) {
            if let Some(entry) = manifest.documents.get(&input.key) {
                journal.record(&input.key, entry).await?;
            }
        }
        let shared = Arc::new(Shared {
            folder,
            manifest: Mutex::new(manifest),
            journal,
            summary: std::sync::Mutex::new(BatchSummary::default()),
        });
        let results: Vec<(PathBuf, BatchOutcome)> = futures_util::stream::iter(inputs)
            .map(|input| {
                let shared = shared.clone();
                async move {
                    let outcome = match self.try_process(&input, &shared).await {
                        Ok(outcome) => outcome,
                        Err(e) => BatchOutcome::Error(Arc::new(e)),
                    };
                    shared.count(|summary| match &outcome {
                        BatchOutcome::Succeeded(_) => summary.succeeded += 1,
                        BatchOutcome::AlreadyDone => summary.already_done += 1,
                        BatchOutcome::Failed(_) => summary.failed += 1,
                        BatchOutcome::TimedOut(id) => summary.timed_out.push(id.clone()),
                        BatchOutcome::ConversionFailed { .. } => summary.conversion_failed += 1,
                        BatchOutcome::Error(_) => summary.errors += 1,
                    });
                    let shown = input.file.shown().to_path_buf();
                    (self.on_event)(BatchEvent::Finished {
                        input: shown.clone(),
                        outcome: outcome.clone(),
                    });
                    (shown, outcome)
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut summary = shared
            .summary
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        summary.journal_bytes = shared.journal.bytes_written();
        // Compact the journal into the snapshot.
        let snapshot = shared.manifest.lock().await.clone();
        shared.folder.save(snapshot).await?;
        Ok(BatchReport {
            documents: results,
            summary,
        })
    }

    /// Gives every input its output name: the one the manifest records for it, else its file
    /// stem made safe and unique, skipping names other inputs own and names of files in the
    /// folder that no run wrote (unless overwriting). With `mirror`, a new name is the input's
    /// path under its folder ([`mirror_name`]), the same whichever worker computes it. New
    /// names are recorded before any work.
    fn name_inputs(
        &self,
        listed: Vec<Listed>,
        manifest: &mut Manifest,
        mirror: bool,
        folder: &OutputFolder,
    ) -> Vec<Input> {
        let mut owned: HashSet<String> = manifest
            .documents
            .values()
            .filter_map(|e| e.name.as_deref().map(str::to_lowercase))
            .collect();
        let written: HashSet<PathBuf> = manifest
            .documents
            .values()
            .flat_map(|e| e.outputs.iter().cloned())
            .collect();
        let mut inputs = Vec::with_capacity(listed.len());
        for Listed {
            file,
            key,
            relative,
        } in listed
        {
            if let Some(name) = manifest.documents.get(&key).and_then(|e| e.name.clone()) {
                inputs.push(Input {
                    file,
                    key,
                    name,
                    new: false,
                });
                continue;
            }
            let name = if mirror {
                mirror_name(relative.as_deref(), &key)
            } else {
                self.flat_name(&file, &owned, &written, folder)
            };
            owned.insert(name.to_lowercase());
            manifest.documents.insert(
                key.clone(),
                ManifestEntry::queued(String::new(), name.clone()),
            );
            inputs.push(Input {
                file,
                key,
                name,
                new: true,
            });
        }
        inputs
    }

    /// A new input's name in a flat folder: its file stem made safe, numbered past the names
    /// `owned` by other inputs and past files in the folder that no run wrote (unless
    /// overwriting), which are reported.
    fn flat_name(
        &self,
        file: &InputFile,
        owned: &HashSet<String>,
        written: &HashSet<PathBuf>,
        folder: &OutputFolder,
    ) -> String {
        let stem = file
            .shown()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = safe_component(&stem, "document");
        let mut kept = None;
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .find(|candidate| {
                if owned.contains(&candidate.to_lowercase()) {
                    return false;
                }
                let foreign = self.extensions().find_map(|extension| {
                    let path = folder.shown(&format!("{candidate}.{extension}"));
                    (path.exists() && !written.contains(&path)).then_some(path)
                });
                match foreign {
                    Some(path) if !self.overwrite => {
                        kept.get_or_insert(path);
                        false
                    }
                    _ => true,
                }
            })
            .unwrap_or(base);
        if let Some(kept) = kept {
            (self.on_event)(BatchEvent::Renamed {
                input: file.shown().to_path_buf(),
                kept,
                name: name.clone(),
            });
        }
        name
    }

    pub(crate) async fn update(
        &self,
        shared: &Shared,
        key: &str,
        change: impl FnOnce(&mut ManifestEntry),
    ) -> Result<(), DocumentError> {
        // The lock is held until the line is synced, so lines of one entry stay in order.
        let mut manifest = shared.manifest.lock().await;
        let Some(entry) = manifest.documents.get_mut(key) else {
            return Ok(());
        };
        change(entry);
        shared
            .journal
            .record(key, entry)
            .await
            .map_err(|source| self.manifest_error(source))?;
        // Every change so far is in `manifest`, and no other record is in flight.
        shared.journal.snapshot_if_due(&manifest).await;
        Ok(())
    }

    pub(crate) fn manifest_error(&self, source: std::io::Error) -> DocumentError {
        DocumentError::Manifest {
            dir: PathBuf::from(self.out.display()),
            source,
        }
    }

    async fn try_process(
        &self,
        input: &Input,
        shared: &Shared,
    ) -> Result<BatchOutcome, DocumentError> {
        let Input { key, name, .. } = input;
        let file = input.file.shown().to_path_buf();
        let sha256 = input
            .file
            .identity()
            .await
            .map_err(|source| DocumentError::File {
                path: file.clone(),
                source,
            })?;

        // What an earlier run left, if it was about this content.
        let earlier = shared
            .manifest
            .lock()
            .await
            .documents
            .get(key)
            .cloned()
            .filter(|e| e.sha256 == sha256);
        let json = format!("{name}.json");
        if earlier
            .as_ref()
            .is_some_and(|e| e.state == EntryState::Succeeded)
            && shared.folder.exists(&json).await
        {
            return self.complete_from_stored(input, &json, shared).await;
        }
        // Extracted before with the same options, into any folder: no request at all.
        let cache_key = self
            .cache
            .as_ref()
            .filter(|_| input.file.identity_is_sha256())
            .map(|_| OutputCache::key(&sha256, &self.options));
        if let (Some(cache), Some(key)) = (&self.cache, &cache_key) {
            let lookup = (cache.clone(), key.clone());
            let hit = tokio::task::spawn_blocking(move || lookup.0.get(&lookup.1))
                .await
                .ok()
                .flatten();
            if let Some(document) = hit {
                self.update(shared, &input.key, |e| e.sha256 = sha256.clone())
                    .await?;
                shared.count(|s| s.from_cache += 1);
                return self.write_all(input, &document, &[], shared).await;
            }
        }
        if let Some(size) = self.split_pages
            && let Some(count) = input.file.page_count().await.filter(|c| *c > size)
        {
            return match self
                .extract_in_parts(input, &sha256, (count, size), earlier, shared)
                .await?
            {
                Ok(document) => {
                    self.remember(cache_key.as_deref(), &document).await;
                    self.write_all(input, &document, &[], shared).await
                }
                Err(outcome) => Ok(outcome),
            };
        }
        let job = match &earlier {
            // Done before, but its output is gone: fetch it again from its request while the
            // service still has it.
            Some(ManifestEntry {
                state: EntryState::Succeeded | EntryState::Submitted,
                request_id: Some(id),
                mode: Some(mode),
                ..
            }) => {
                shared.count(|s| s.resumed += 1);
                let job = JobHandle::new(id.clone(), *mode);
                (self.on_event)(BatchEvent::Started {
                    input: file.clone(),
                    request_id: job.request_id.clone(),
                    resumed: true,
                });
                Some(job)
            }
            _ => None,
        };
        let resumed = job.is_some();
        let job = match job {
            Some(job) => job,
            None => self.submit_new(input, &sha256, earlier, shared).await?,
        };

        // A new job is polled first near its predicted finish, once the batch has learnt its
        // pace; a resumed one has been running for an unknown time.
        let pages = match &self.pace {
            Some(_) if !resumed => input.file.page_count().await,
            _ => None,
        };
        let predicted = self
            .pace
            .as_ref()
            .zip(pages)
            .and_then(|(pace, p)| pace.predict(p));
        let policy = match predicted {
            Some(expected) => Pace::policy(expected, self.policy.clone()),
            None => self.policy.clone(),
        };
        let poller = Poller::with_shared_policy(self.api.clone(), policy);
        let on_event = self.on_event.clone();
        let shown = file.clone();
        let waiting = tokio::time::Instant::now();
        let last_pending = Arc::new(std::sync::Mutex::new(None));
        let pending = last_pending.clone();
        let waited = poller
            .wait_with(&job, move |event| match event {
                JobEvent::Polled {
                    state,
                    polls,
                    elapsed,
                    ..
                } => {
                    *pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(elapsed);
                    on_event(BatchEvent::Progress {
                        input: shown.clone(),
                        state: state.into(),
                        polls,
                    })
                }
                JobEvent::Retrying { error, .. } => on_event(BatchEvent::Progress {
                    input: shown.clone(),
                    state: format!("retrying ({error})"),
                    polls: 0,
                }),
                _ => {}
            })
            .await;
        match waited {
            Ok(document) => {
                if let (Some(pace), Some(pages)) = (&self.pace, pages) {
                    let pending = *last_pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    pace.record(pages, pending, waiting.elapsed());
                }
                self.remember(cache_key.as_deref(), &document).await;
                self.write_all(input, &document, &[], shared).await
            }
            Err(PollError::Failed { error, .. }) => {
                let reason = error.clone();
                self.update(shared, key, |e| {
                    e.state = EntryState::Failed;
                    e.error = Some(reason);
                })
                .await?;
                Ok(BatchOutcome::Failed(error))
            }
            // The job is still Submitted in the manifest: a re-run resumes it.
            Err(PollError::Deadline { request_id, .. }) => Ok(BatchOutcome::TimedOut(request_id)),
            // The request is gone (expired, unknown): a resumed job is submitted anew.
            Err(PollError::Api { source, .. })
                if resumed && matches!(source.status(), Some(400 | 404 | 405 | 410)) =>
            {
                tracing::info!(file = %file.display(), "the earlier request is gone ({source}); submitting again");
                let job = self.submit_new(input, &sha256, None, shared).await?;
                match poller.wait(&job).await {
                    Ok(document) => self.write_all(input, &document, &[], shared).await,
                    Err(PollError::Deadline { request_id, .. }) => {
                        Ok(BatchOutcome::TimedOut(request_id))
                    }
                    Err(other) => Err(other.into()),
                }
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Keeps a new output document in the cache, if there is one; a cache that cannot be
    /// written costs the next run a request, not this one its output.
    async fn remember(&self, key: Option<&str>, document: &OutputDocument) {
        let (Some(cache), Some(key)) = (&self.cache, key) else {
            return;
        };
        let (cache, key, document) = (cache.clone(), key.to_string(), document.clone());
        let stored = tokio::task::spawn_blocking(move || cache.put(&key, &document)).await;
        if let Ok(Err(e)) = stored {
            tracing::warn!("could not store the output in the cache: {e}");
        }
    }

    /// An input done before whose output document is still there: writes the formats this run
    /// asks for that are missing, from the stored document, without asking the service.
    async fn complete_from_stored(
        &self,
        input: &Input,
        json: &str,
        shared: &Shared,
    ) -> Result<BatchOutcome, DocumentError> {
        let mut missing = false;
        for (extension, _) in &self.renderers {
            missing |= !shared
                .folder
                .exists(&format!("{}.{extension}", input.name))
                .await;
        }
        if !missing {
            return Ok(BatchOutcome::AlreadyDone);
        }
        let path = shared.folder.shown(json);
        let bytes = shared
            .folder
            .read(json)
            .await
            .map_err(|source| DocumentError::File {
                path: path.clone(),
                source,
            })?;
        let document = tokio::task::spawn_blocking(move || {
            OutputDocument::from_json(&bytes)
                .map_err(|source| Box::new(DocumentError::StoredOutput { path, source }))
        })
        .await
        .map_err(|e| DocumentError::Internal(e.to_string()))?
        .map_err(|e| *e)?;
        shared.count(|s| s.completed_without_submission += 1);
        self.write_all(input, &document, &[shared.folder.shown(json)], shared)
            .await
    }

    /// Records a new submission of `input` in the manifest, then submits it.
    async fn submit_new(
        &self,
        input: &Input,
        sha256: &str,
        earlier: Option<ManifestEntry>,
        shared: &Shared,
    ) -> Result<JobHandle, DocumentError> {
        let Input { key, name, .. } = input;
        let file = input.file.shown();
        // What is sent is read before the submission is recorded: a store that fails is a file
        // error, and nothing was sent.
        input
            .file
            .ready()
            .await
            .map_err(|source| DocumentError::File {
                path: file.to_path_buf(),
                source,
            })?;
        // A submission started by an earlier run and never answered may have created a job.
        let mut unknown = earlier
            .as_ref()
            .map(|e| e.unknown_outcomes.clone())
            .unwrap_or_default();
        if earlier
            .as_ref()
            .is_some_and(|e| e.state == EntryState::Submitting)
        {
            unknown.push("an earlier run stopped while submitting".into());
            shared.count(|s| s.resubmitted_after_unknown_outcome += 1);
        }
        {
            let mut manifest = shared.manifest.lock().await;
            let outputs = manifest
                .documents
                .get(key)
                .map(|e| e.outputs.clone())
                .unwrap_or_default();
            let entry = ManifestEntry {
                sha256: sha256.to_string(),
                state: EntryState::Submitting,
                unknown_outcomes: unknown,
                // Files written for earlier content stay this input's to replace.
                outputs,
                ..ManifestEntry::queued(String::new(), name.clone())
            };
            // On disk before the submission leaves: a crash then is an unknown outcome.
            shared
                .journal
                .record(key, &entry)
                .await
                .map_err(|source| self.manifest_error(source))?;
            manifest.documents.insert(key.clone(), entry);
        }
        let job = self.submit(input, shared).await?;
        (self.on_event)(BatchEvent::Started {
            input: file.to_path_buf(),
            request_id: job.request_id.clone(),
            resumed: false,
        });
        Ok(job)
    }

    /// Submits, resubmitting (and recording it) when a submission's outcome is unknown.
    async fn submit(&self, input: &Input, shared: &Shared) -> Result<JobHandle, DocumentError> {
        let (file, key) = (input.file.shown(), input.key.as_str());
        loop {
            shared.count(|s| s.submissions += 1);
            match input.file.submit(&self.api, &self.options).await {
                Ok(submission) => {
                    let job: JobHandle = submission.into();
                    let recorded = job.clone();
                    self.update(shared, key, |e| {
                        e.state = EntryState::Submitted;
                        e.request_id = Some(recorded.request_id);
                        e.mode = Some(recorded.mode);
                    })
                    .await?;
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
                    .await?;
                    if tries > MAX_UNKNOWN_OUTCOMES {
                        return Err(DocumentError::GaveUp {
                            path: file.to_path_buf(),
                            submissions: tries,
                            last: error,
                        });
                    }
                    shared.count(|s| s.resubmitted_after_unknown_outcome += 1);
                    // Reported once, through the event (displays print it); logs get detail.
                    tracing::debug!(file = %file.display(), "resubmitting after an unknown outcome: {reason}");
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
                    .await?;
                    return Err(error.into());
                }
            }
        }
    }

    /// Writes the output document (unless `kept` holds it already) and every format, records
    /// them, and reports a conversion that failed without losing the document.
    async fn write_all(
        &self,
        input: &Input,
        document: &OutputDocument,
        kept: &[PathBuf],
        shared: &Shared,
    ) -> Result<BatchOutcome, DocumentError> {
        let previous = shared
            .manifest
            .lock()
            .await
            .documents
            .get(&input.key)
            .map(|e| e.outputs.clone())
            .unwrap_or_default();
        let mut files: Vec<(String, Result<Vec<u8>, String>)> = Vec::new();
        if kept.is_empty() {
            let json = serde_json::to_vec_pretty(document)
                .map_err(|e| DocumentError::Internal(e.to_string()))?;
            files.push(("json".into(), Ok(json)));
        }
        for (extension, render) in &self.renderers {
            if !kept.is_empty()
                && shared
                    .folder
                    .exists(&format!("{}.{extension}", input.name))
                    .await
            {
                continue;
            }
            // A converter that panics on some document loses that format, not the batch; one
            // that takes long (rendering PDF pages) does not hold up the runtime's other tasks.
            let convert = || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    render(document, input.file.shown())
                }))
                .unwrap_or_else(|_| Err("the conversion panicked".into()))
            };
            let multi_thread = tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread;
            let rendered = if multi_thread {
                tokio::task::block_in_place(convert)
            } else {
                convert()
            };
            files.push((extension.clone(), rendered));
        }
        let mut written: Vec<PathBuf> = kept.to_vec();
        let mut errors = Vec::new();
        for (extension, bytes) in files {
            let name = format!("{}.{extension}", input.name);
            let path = shared.folder.shown(&name);
            match bytes {
                Ok(bytes) => {
                    let replace = self.overwrite || previous.contains(&path);
                    shared
                        .folder
                        .write(&name, bytes, replace)
                        .await
                        .map_err(|source| DocumentError::File {
                            path: path.clone(),
                            source,
                        })?;
                    written.push(path);
                }
                Err(error) => errors.push(format!("{extension}: {error}")),
            }
        }
        let outputs = written.clone();
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        let recorded = error.clone();
        let pages = pages_of(document);
        self.update(shared, &input.key, |e| {
            e.state = EntryState::Succeeded;
            e.pages = Some(pages);
            for output in outputs {
                if !e.outputs.contains(&output) {
                    e.outputs.push(output);
                }
            }
            e.error = recorded;
        })
        .await?;
        Ok(match error {
            Some(error) => BatchOutcome::ConversionFailed { written, error },
            None => BatchOutcome::Succeeded(written),
        })
    }
}

/// Pages with content in `document`: the distinct page numbers its nodes are located on.
fn pages_of(document: &OutputDocument) -> u32 {
    let pages: HashSet<i64> = document
        .nodes()
        .filter_map(|n| n.locations.as_ref().and_then(Option::as_ref))
        .flatten()
        .map(|l| l.page_number)
        .collect();
    u32::try_from(pages.len()).unwrap_or(u32::MAX)
}

/// Files as given, and the `*.pdf` files under given directories, sorted, without repeats.
/// The PDFs that `inputs` name, as [`BatchRunner::run`] finds them: files as given, folders
/// searched (sorted) for `*.pdf`. For a preflight or a dry run over exactly the batch's inputs.
pub fn expand(inputs: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for input in inputs {
        let metadata = std::fs::metadata(input)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            collect_pdfs(input, &mut found)?;
            found.sort();
            files.extend(found);
        } else if metadata.is_file() {
            files.push(input.clone());
        } else {
            // Reading a FIFO, a socket or a device would wait forever or never end.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{}: not a regular file (a pipe, socket or device); give PDF files or folders",
                    input.display()
                ),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

fn collect_pdfs(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let listed =
        |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(dir).map_err(listed)? {
        let path = entry.map_err(listed)?.path();
        // Links are followed; anything but folders and regular files (FIFOs…) is passed over.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            collect_pdfs(&path, found)?;
        } else if metadata.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            found.push(path);
        }
    }
    Ok(())
}

/// SHA-256 of a file's content, hex, read off the async threads: the identity of a document in
/// the manifest and in the output cache.
pub async fn hash_file(path: PathBuf) -> std::io::Result<String> {
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
        Ok(crate::hex(&hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn output_files_follow_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .expect("umask");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("report.json");
        crate::folder::write_file(&path, b"{}", false).expect("writes");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask);
        assert_ne!(mode, 0o600);
    }

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
                Ok(Submission::new("second", RetrievalMode::Inline))
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
        let BatchReport {
            documents: results,
            summary,
            ..
        } = runner.run(&[pdf]).await.expect("runs");
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

    #[tokio::test]
    async fn a_documents_error_keeps_its_type() {
        use extract_api::MockExtractApi;
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(|_, _| {
            Err(ApiError::Service {
                endpoint: "POST /v3/extractions".into(),
                status: 400,
                field: Some("pages".into()),
                body: "{}".into(),
                request_id: None,
                retry_after: None,
            })
        });
        let inputs = tempfile::tempdir().expect("tempdir");
        let out = tempfile::tempdir().expect("tempdir");
        let pdf = inputs.path().join("a.pdf");
        std::fs::write(&pdf, "%PDF-1.4").expect("writes");
        let report = BatchRunner::new(Arc::new(api), out.path())
            .run(&[pdf])
            .await
            .expect("runs");
        assert_eq!(report.summary.errors, 1);
        match &report.documents[0].1 {
            BatchOutcome::Error(error) => {
                assert!(
                    matches!(
                        &**error,
                        DocumentError::Api(ApiError::Service { status: 400, .. })
                    ),
                    "{error:?}"
                );
                assert!(!error.is_transient() && !error.may_have_created_job());
            }
            other => panic!("{other:?}"),
        }
    }

    /// A batch of `n` documents against a mock that answers at once; the journal's bytes.
    async fn journal_bytes(n: usize) -> u64 {
        use extract_api::{MockExtractApi, RetrievalMode, Submission};
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(|path, _| {
            Ok(Submission::new(
                format!("id-{}", path.display()),
                RetrievalMode::Inline,
            ))
        });
        api.expect_status().returning(|_, _| {
            Ok(serde_json::from_value(serde_json::json!({"status": "success", "output": {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []}})).expect("status"))
        });
        let inputs = tempfile::tempdir().expect("tempdir");
        let out = tempfile::tempdir().expect("tempdir");
        for i in 0..n {
            std::fs::write(inputs.path().join(format!("doc-{i:05}.pdf")), "%PDF-1.4")
                .expect("writes");
        }
        let fast = PollPolicy::default()
            .with_delays(
                std::time::Duration::from_millis(1),
                1.5,
                std::time::Duration::from_secs(30),
            )
            .with_floor(std::time::Duration::ZERO);
        let report = BatchRunner::new(Arc::new(api), out.path())
            .policy(fast)
            .concurrency(16)
            .run(&[inputs.path().to_path_buf()])
            .await
            .expect("runs");
        assert_eq!(report.summary.succeeded, n);
        report.summary.journal_bytes
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_journal_grows_linearly_with_the_batch() {
        let small = journal_bytes(50).await;
        let large = journal_bytes(200).await;
        // Four times the documents: four times the bytes (rewriting the manifest after every
        // step, as before the journal, made it sixteen).
        let ratio = large as f64 / small as f64;
        assert!(
            (3.5..=4.6).contains(&ratio),
            "{small} -> {large} bytes: {ratio:.2}"
        );
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
