//! The submit stage: a submission is recorded (durably) before it is sent, and one whose
//! outcome is unknown is recorded as such and sent again, a bounded number of times.

use extract_api::{ApiError, ExtractApi};

use crate::manifest::EntryState;
use crate::runner::{BatchRunner, Input, Shared};
use crate::{BatchEvent, DocumentError, JobHandle, ManifestEntry};

/// How many times an input is resubmitted after submissions of unknown outcome before giving up.
const MAX_UNKNOWN_OUTCOMES: usize = 3;

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// Records a new submission of `input` in the manifest, then submits it.
    pub(crate) async fn submit_new(
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
        let durable = {
            let mut manifest = shared.manifest();
            let outputs = manifest
                .documents
                .get(key)
                .map(|e| e.outputs.clone())
                .unwrap_or_default();
            let mut entry = ManifestEntry {
                sha256: sha256.to_string(),
                state: EntryState::Submitting,
                unknown_outcomes: unknown,
                // Files written for earlier content stay this input's to replace.
                outputs,
                ..ManifestEntry::queued(String::new(), name.clone())
            };
            entry.touch();
            let durable = shared.journal.queue(key, &entry);
            manifest.documents.insert(key.clone(), entry);
            durable
        };
        // On disk before the submission leaves: a crash then is an unknown outcome.
        durable
            .await
            .map_err(|source| self.manifest_error(source))?;
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
            // Asked immediately before the submission leaves: a worker whose lease lapsed
            // (paused, cut off) sends nothing more.
            shared.fence.check()?;
            if let Some(reason) = shared.refusal() {
                return Err(DocumentError::Stopped { reason });
            }
            match input.file.submit(&self.api, &self.options).await {
                Ok(submission) => {
                    let job: JobHandle = submission;
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
                    let reason = extract_api::Chain(&error).to_string();
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
                // No token: nothing was sent (or the service answered 401 and took nothing).
                // The entry waits as queued for a run with good credentials.
                Err(error) if error.is_refused_credentials() => {
                    self.update(shared, key, |e| e.state = EntryState::Queued)
                        .await?;
                    return Err(error.into());
                }
                Err(error) => {
                    let reason = extract_api::Chain(&error).to_string();
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
}
