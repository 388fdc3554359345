//! The runner: a batch's stages in order (list, name, claim, then per document submit, wait
//! and write, then report), one task per document with a bound on those in flight.
//!
//! Each document is its own task, so one that is slow on CPU (rendering its pages, decoding a
//! large answer, which run on the blocking pool anyway) holds up no other. The manifest is
//! shared under a plain lock that is never held across an await: a change is applied and its
//! journal line queued under the lock, and its durability awaited outside it, so concurrent
//! documents' lines share one `fsync` or one PUT. When the shard's lease lapses, every task is
//! stopped at once and the run ends with [`LeaseLost`].

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use extract_api::{ExtractApi, ExtractionOptions};
use tokio::task::JoinSet;

use crate::DocumentError;
use crate::cache::{CacheScope, OutputCache};
use crate::document_error::CredentialsRefused;
use crate::fence::Fence;
use crate::folder::OutputFolder;
use crate::input::InputFile;
use crate::journal::Journal;
use crate::place::Place;
use crate::shard::Shard;
use crate::write::{Render, RenderFrom};
use crate::{
    BatchEvent, BatchOutcome, BatchReport, BatchSummary, Manifest, ManifestEntry, PollPolicy,
    PollingPolicy,
};
use extract_poll::Pace;

/// How long a store shard's lease lasts without renewal, unless [`BatchRunner::lease`] says.
const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Runs many documents. Build it, then call [`BatchRunner::run`].
#[must_use = "a runner does nothing until `run()`"]
#[derive(Clone)]
pub struct BatchRunner<A> {
    pub(crate) api: A,
    pub(crate) options: ExtractionOptions,
    pub(crate) policy: Arc<dyn PollingPolicy>,
    pub(crate) concurrency: usize,
    pub(crate) out: Place,
    pub(crate) shard: Option<Shard>,
    pub(crate) skipped: HashSet<String>,
    pub(crate) lease: Duration,
    pub(crate) renderers: Vec<(String, Arc<RenderFrom>)>,
    pub(crate) overwrite: bool,
    pub(crate) wait_for_lock: bool,
    pub(crate) on_event: Arc<dyn Fn(BatchEvent) + Send + Sync>,
    pub(crate) cache: Option<(OutputCache, CacheScope)>,
    pub(crate) split_pages: Option<u32>,
    /// The batch's seconds per page, learnt from its finished jobs; `None` when turned off.
    pub(crate) pace: Option<Arc<Pace>>,
    /// Page counts known before the run (a preflight's), by manifest key.
    pub(crate) known_pages: Arc<std::collections::HashMap<String, u32>>,
    /// Off only through the test switch that shows what fencing prevents.
    fencing: bool,
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
    manifest: Mutex<Manifest>,
    pub(crate) journal: Journal,
    /// Asked before every action with an effect outside the process.
    pub(crate) fence: Fence,
    summary: Mutex<BatchSummary>,
    /// Set by the first document whose credentials were refused: nothing more is submitted.
    refused: Mutex<Option<String>>,
}

impl Shared {
    /// The refusal that stops the run, if there was one. Asked immediately before every
    /// submission, as the fence is: once the credentials were refused, nothing more is sent.
    pub(crate) fn refusal(&self) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn count(&self, change: impl FnOnce(&mut BatchSummary)) {
        change(&mut self.summary.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The manifest, for a moment: never held across an await.
    pub(crate) fn manifest(&self) -> MutexGuard<'_, Manifest> {
        self.manifest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One input of a run: its file, manifest key and output name, and whether this run named it.
pub(crate) struct Input {
    pub(crate) file: InputFile,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) new: bool,
    /// Its page count, read once (from a preflight's, or the file's structure) and shared
    /// by page splitting and pace learning.
    pub(crate) pages: tokio::sync::OnceCell<Option<u32>>,
}

impl Input {
    /// The page count, read at most once.
    pub(crate) async fn page_count(&self) -> Option<u32> {
        *self.pages.get_or_init(|| self.file.page_count()).await
    }
}

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// A runner writing to `out` (a local folder, or a prefix in an object store), four
    /// documents at a time.
    pub fn new(api: A, out: impl Into<Place>) -> Self {
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
            known_pages: Arc::default(),
            fencing: true,
        }
    }

    /// Page counts already known, by manifest key ([`crate::input_key`] of the path as listed),
    /// such as a preflight's: the runner then does not read those files' structure again.
    pub fn known_pages(mut self, pages: impl IntoIterator<Item = (String, u32)>) -> Self {
        self.known_pages = Arc::new(pages.into_iter().collect());
        self
    }

    /// Turns fencing off: a worker whose lease lapsed goes on submitting and writing. Only
    /// for the test that shows the duplicates fencing prevents; never in production.
    #[doc(hidden)]
    pub fn unfenced_for_tests(mut self) -> Self {
        self.fencing = false;
        self
    }

    /// Sends a document that selects more than `pages` pages (all its pages, or those of the
    /// `pages` option) as parallel jobs of at most `pages` of the selected pages each
    /// ([`crate::split::split_jobs`]; absolute page numbers) and merges their outputs into one
    /// document ([`crate::split::merge`]). A part that fails is sent again alone. At most 8
    /// parts of a document are in flight, and a document is cut into at most 1,000 parts. A
    /// merged output is cached under its own key ([`OutputCache::split_key`]).
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
    /// extracted before with the same options, by the same service for the same account
    /// (`scope`: the runner's API and whom it authenticates as), in any folder, costs no
    /// request. An output made under another scope is never used.
    pub fn cache(mut self, cache: OutputCache, scope: CacheScope) -> Self {
        self.cache = Some((cache, scope));
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

    pub(crate) fn extensions(&self) -> impl Iterator<Item = &str> {
        std::iter::once("json").chain(self.renderers.iter().map(|(e, _)| e.as_str()))
    }

    /// Runs `inputs` (files, and directories searched for `*.pdf`), returning each input's
    /// outcome and the counts. The output folder is locked for the run (another run on it fails
    /// at once, or waits with [`BatchRunner::wait_for_lock`]). The manifest in it is updated
    /// after every step, so the future can be dropped (Ctrl-C) at any point and a new run resumes.
    pub async fn run(&self, inputs: &[PathBuf]) -> Result<BatchReport, std::io::Error> {
        let inputs: Vec<Place> = inputs.iter().map(Place::from).collect();
        self.run_from(&inputs).await
    }

    /// Like [`run`](Self::run), for inputs and an output folder anywhere: local folders and
    /// files, prefixes in object stores. A store's listing is streamed and only this shard's
    /// inputs are kept; its objects are read once each, when first needed; outputs are written
    /// to a store as whole objects. Runs that read or write a store, and shards, name outputs
    /// after each input's path under its folder.
    pub async fn run_from(&self, inputs: &[Place]) -> Result<BatchReport, std::io::Error> {
        let folder = OutputFolder::new(&self.out, self.shard);
        let (claim, manifest, journal) = folder
            .claim(self.wait_for_lock, self.lease, self.fencing)
            .await?;
        let result = self
            .run_claimed(inputs, folder, manifest, journal, claim.fence())
            .await;
        // Whatever the outcome, the next run may start at once (a dropped run's lease ends at
        // its term instead; a lapsed one is the new holder's).
        claim.release().await;
        result
    }

    /// The run, once the output folder is this run's: list, name, then one task per document,
    /// then the report.
    async fn run_claimed(
        &self,
        inputs: &[Place],
        folder: OutputFolder,
        mut manifest: Manifest,
        journal: Journal,
        fence: Fence,
    ) -> Result<BatchReport, std::io::Error> {
        let mut listed = crate::list::list(inputs, self.shard).await?;
        listed.retain(|l| !self.skipped.contains(&l.key));
        let mirror = self.shard.is_some()
            || folder.is_store()
            || inputs.iter().any(|i| matches!(i, Place::Store(_)));
        let inputs = self.name_inputs(listed, &mut manifest, mirror, &folder);
        // The names this run gave, recorded together; the rest are in the snapshot already.
        let named: Vec<_> = inputs
            .iter()
            .filter(|i| i.new)
            .filter_map(|i| {
                let entry = manifest.documents.get(&i.key)?;
                Some(journal.queue(&i.key, entry))
            })
            .collect();
        for durable in named {
            durable.await?;
        }
        let shared = Arc::new(Shared {
            folder,
            manifest: Mutex::new(manifest),
            journal,
            fence: fence.clone(),
            summary: Mutex::new(BatchSummary::default()),
            refused: Mutex::new(None),
        });
        let runner = Arc::new(self.clone());
        let mut waiting = inputs.into_iter();
        let mut tasks = JoinSet::new();
        let mut results = Vec::new();
        loop {
            while tasks.len() < self.concurrency {
                let Some(input) = waiting.next() else { break };
                let (runner, shared) = (runner.clone(), shared.clone());
                tasks.spawn(async move { runner.process(input, &shared).await });
            }
            let joined = tokio::select! {
                joined = tasks.join_next() => joined,
                lost = fence.lapsed() => {
                    // Nothing more is sent or written: every document in flight stops here.
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    return Err(std::io::Error::other(lost));
                }
            };
            match joined {
                Some(Ok(Some(result))) => results.push(result),
                // Stopped by refused credentials: the run ends here, below.
                Some(Ok(None)) => {}
                // A document's task that panicked: that document's error, not the batch's.
                Some(Err(e)) if !e.is_cancelled() => results.push((
                    PathBuf::from("(a document)"),
                    BatchOutcome::Error(Arc::new(DocumentError::Internal(e.to_string()))),
                )),
                Some(Err(_)) => {}
                None => break,
            }
            if shared.refusal().is_some() {
                // Every document would be refused alike: those in flight stop where they are
                // (their manifest entries say where), and no other starts.
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
        fence.check().map_err(std::io::Error::other)?;
        let mut summary = shared
            .summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let stats = shared.journal.stats();
        summary.journal_bytes = stats.bytes;
        summary.journal_records = stats.records;
        summary.journal_commits = stats.commits;
        // Compact the journal into the snapshot.
        let Ok(shared) = Arc::try_unwrap(shared) else {
            return Err(std::io::Error::other("a document's task outlived the run"));
        };
        let snapshot = shared
            .manifest
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        shared
            .journal
            .finish(snapshot, shared.folder.local_state())
            .await?;
        if let Some(reason) = shared
            .refused
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
        {
            return Err(std::io::Error::other(CredentialsRefused {
                reason,
                summary,
            }));
        }
        Ok(BatchReport {
            documents: results,
            summary,
        })
    }

    /// One document, start to end: its outcome counted and reported. `None` when the
    /// credentials were refused: the run stops, and says so once, for all its documents.
    async fn process(&self, input: Input, shared: &Shared) -> Option<(PathBuf, BatchOutcome)> {
        let outcome = match self.try_process(&input, shared).await {
            Ok(outcome) => outcome,
            Err(e) if e.is_refused_credentials() => {
                let mut refused = shared.refused.lock().unwrap_or_else(|e| e.into_inner());
                if refused.is_none() {
                    let reason = match e {
                        DocumentError::Stopped { reason } => reason,
                        other => other.to_string(),
                    };
                    *refused = Some(reason);
                }
                return None;
            }
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
        Some((shown, outcome))
    }

    /// Changes the entry of `key` and returns once the change is durable. The change and its
    /// journal line are made under the manifest's lock, so lines of one entry stay in order;
    /// the wait for durability is outside it, so other documents' lines join the same write.
    pub(crate) async fn update(
        &self,
        shared: &Shared,
        key: &str,
        change: impl FnOnce(&mut ManifestEntry),
    ) -> Result<(), DocumentError> {
        let durable = {
            let mut manifest = shared.manifest();
            let Some(entry) = manifest.documents.get_mut(key) else {
                return Ok(());
            };
            change(entry);
            entry.touch();
            shared.journal.queue(key, entry)
        };
        durable.await.map_err(|source| self.manifest_error(source))
    }

    pub(crate) fn manifest_error(&self, source: std::io::Error) -> DocumentError {
        DocumentError::Manifest {
            dir: PathBuf::from(self.out.display()),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use extract_api::ApiError;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_unknown_outcome_is_resubmitted_recorded_and_counted() {
        use std::sync::atomic::{AtomicU32, Ordering};

        use extract_api::{JobHandle, MockExtractApi, RetrievalMode};

        let submissions = Arc::new(AtomicU32::new(0));
        let counter = submissions.clone();
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(move |_, _| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(ApiError::outcome_unknown(
                    "POST /v3/extractions",
                    "the service answered HTTP 500",
                    Some(500),
                ))
            } else {
                Ok(JobHandle::new("second", RetrievalMode::Inline))
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
            Err(ApiError::service("POST /v3/extractions", 400, "{}").with_field("pages"))
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

    /// Ten documents, one at a time, against a mock whose token exchange fails from the
    /// fourth submission on with `refusal`; the run's result, submissions tried, manifest.
    async fn token_fails_after_three(
        refusal: fn() -> extract_auth::AuthError,
    ) -> (Result<BatchReport, std::io::Error>, u32, Manifest) {
        use std::sync::atomic::{AtomicU32, Ordering};

        use extract_api::{JobHandle, MockExtractApi, RetrievalMode};

        let submissions = Arc::new(AtomicU32::new(0));
        let counter = submissions.clone();
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(move |path, _| {
            if counter.fetch_add(1, Ordering::SeqCst) < 3 {
                Ok(JobHandle::new(
                    format!("id-{}", path.display()),
                    RetrievalMode::Inline,
                ))
            } else {
                Err(ApiError::Auth(refusal()))
            }
        });
        api.expect_status().returning(|_, _| {
            Ok(serde_json::from_value(serde_json::json!({"status": "success", "output": {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []}})).expect("status"))
        });
        let inputs = tempfile::tempdir().expect("tempdir");
        let out = tempfile::tempdir().expect("tempdir");
        for i in 0..10 {
            std::fs::write(inputs.path().join(format!("doc-{i:02}.pdf")), "%PDF-1.4")
                .expect("writes");
        }
        let result = BatchRunner::new(Arc::new(api), out.path())
            .concurrency(1)
            .run(&[inputs.path().to_path_buf()])
            .await;
        let manifest = Manifest::load(out.path()).expect("manifest");
        (result, submissions.load(Ordering::SeqCst), manifest)
    }

    #[tokio::test]
    async fn refused_credentials_stop_the_run_at_once() {
        let (result, tried, manifest) = token_fails_after_three(|| {
            extract_auth::AuthError::oauth(401, "invalid_client", "The client has been deactivated")
        })
        .await;
        let error = result.expect_err("stops");
        let stopped = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<CredentialsRefused>())
            .expect("credentials refused");
        assert!(stopped.reason.contains("invalid_client"), "{stopped}");
        assert_eq!(stopped.summary.succeeded, 3);
        assert_eq!(stopped.summary.errors, 0);
        assert_eq!(tried, 4, "nothing is tried after the refusal");
        let count = |state| {
            manifest
                .documents
                .values()
                .filter(|e| e.state == state)
                .count()
        };
        assert_eq!(count(crate::manifest::EntryState::Succeeded), 3);
        assert_eq!(count(crate::manifest::EntryState::Failed), 0);
    }

    #[tokio::test]
    async fn a_transient_token_failure_fails_one_document_not_the_run() {
        let (result, tried, _) = token_fails_after_three(|| {
            extract_auth::AuthError::rejected("https://okta.example/token", 503, "unavailable")
        })
        .await;
        let report = result.expect("runs to the end");
        assert_eq!(tried, 10);
        assert_eq!((report.summary.succeeded, report.summary.errors), (3, 7));
    }

    /// A batch of `n` documents against a mock that answers at once; the journal's bytes.
    async fn journal_bytes(n: usize) -> u64 {
        use extract_api::{JobHandle, MockExtractApi, RetrievalMode};
        let mut api = MockExtractApi::new();
        api.expect_submit_file().returning(|path, _| {
            Ok(JobHandle::new(
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
}
