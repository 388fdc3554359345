//! The runner's side of page-split jobs (`BatchRunner::split_pages`): each part submitted,
//! recorded and waited for on its own, a failed part sent again alone, the outputs merged
//! (`split.rs`).

use extract_api::{ApiError, ExtractApi, OutputDocument};
use futures_util::StreamExt;

use crate::manifest::{EntryState, ManifestEntry, PartEntry};
use crate::runner::{BatchRunner, Input, Shared};
use crate::{BatchEvent, BatchOutcome, DocumentError, JobEvent, JobHandle, PollError, Poller};

/// Tries of one part: the first, and two more after a failure on the service side.
const PART_ATTEMPTS: u32 = 3;
/// Parts of one document in flight at once.
const PARTS_IN_FLIGHT: usize = 8;

/// How one part ended.
enum PartEnd {
    Done(Box<OutputDocument>),
    /// The document's outcome without an output: the part failed for good, or timed out.
    Outcome(BatchOutcome),
}

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// Extracts a document as the jobs `labels` name (each a `pages` selection, from
    /// [`crate::split::split_jobs`]), in parallel; parts an earlier run sent for the same
    /// content and the same parts are resumed, not sent again.
    pub(crate) async fn extract_in_parts(
        &self,
        input: &Input,
        sha256: &str,
        labels: Vec<String>,
        earlier: Option<ManifestEntry>,
        shared: &Shared,
    ) -> Result<Result<OutputDocument, BatchOutcome>, DocumentError> {
        let resumable = earlier
            .as_ref()
            .filter(|e| e.parts.iter().map(|p| &p.pages).eq(labels.iter()))
            .map(|e| e.parts.clone())
            .unwrap_or_default();
        let parts: Vec<PartEntry> = labels
            .iter()
            .enumerate()
            .map(|(i, pages)| {
                resumable.get(i).cloned().unwrap_or(PartEntry {
                    pages: pages.clone(),
                    request_id: None,
                    mode: None,
                })
            })
            .collect();
        let durable = {
            let mut manifest = shared.manifest();
            let previous = manifest.documents.get(&input.key).cloned();
            let mut entry = ManifestEntry {
                sha256: sha256.to_string(),
                state: EntryState::Submitted,
                parts: parts.clone(),
                outputs: previous
                    .as_ref()
                    .map(|e| e.outputs.clone())
                    .unwrap_or_default(),
                unknown_outcomes: previous.map(|e| e.unknown_outcomes).unwrap_or_default(),
                ..ManifestEntry::queued(String::new(), input.name.clone())
            };
            entry.touch();
            let durable = shared.journal.queue(&input.key, &entry);
            manifest.documents.insert(input.key.clone(), entry);
            durable
        };
        durable
            .await
            .map_err(|source| self.manifest_error(source))?;
        let ends: Vec<_> = futures_util::stream::iter(parts.into_iter().enumerate())
            .map(|(i, part)| self.extract_part(input, i, part, shared))
            .buffered(PARTS_IN_FLIGHT)
            .collect()
            .await;
        let mut documents = Vec::with_capacity(ends.len());
        for end in ends {
            match end? {
                PartEnd::Done(document) => documents.push(*document),
                PartEnd::Outcome(outcome) => return Ok(Err(outcome)),
            }
        }
        let document = crate::split::merge(documents)
            .ok_or_else(|| DocumentError::Internal("a document with no parts".into()))?;
        Ok(Ok(document))
    }

    async fn extract_part(
        &self,
        input: &Input,
        index: usize,
        part: PartEntry,
        shared: &Shared,
    ) -> Result<PartEnd, DocumentError> {
        let options = self
            .options
            .clone()
            .pages(&part.pages)
            .return_absolute_pdf_page_numbers(true);
        let which = format!("pages {}", part.pages);
        let mut job = part
            .request_id
            .zip(part.mode)
            .map(|(request_id, mode)| JobHandle::new(request_id, mode));
        let mut resumed = job.is_some();
        let mut attempts = 0;
        loop {
            let handle = match job.take() {
                Some(handle) => {
                    (self.on_event)(BatchEvent::Started {
                        input: input.file.shown().to_path_buf(),
                        request_id: handle.request_id.clone(),
                        resumed: true,
                    });
                    handle
                }
                None => {
                    attempts += 1;
                    shared.count(|s| s.submissions += 1);
                    shared.fence.check()?;
                    if let Some(reason) = shared.refusal() {
                        return Err(DocumentError::Stopped { reason });
                    }
                    match input.file.submit(&self.api, &options).await {
                        Ok(submission) => {
                            let handle: JobHandle = submission;
                            let recorded = handle.clone();
                            self.update(shared, &input.key, |e| {
                                if let Some(p) = e.parts.get_mut(index) {
                                    p.request_id = Some(recorded.request_id);
                                    p.mode = Some(recorded.mode);
                                }
                            })
                            .await?;
                            (self.on_event)(BatchEvent::Started {
                                input: input.file.shown().to_path_buf(),
                                request_id: handle.request_id.clone(),
                                resumed: false,
                            });
                            handle
                        }
                        Err(error @ ApiError::OutcomeUnknown { .. })
                            if attempts < PART_ATTEMPTS =>
                        {
                            let reason = format!("{which}: {}", extract_api::Chain(&error));
                            let noted = reason.clone();
                            self.update(shared, &input.key, |e| e.unknown_outcomes.push(noted))
                                .await?;
                            shared.count(|s| s.resubmitted_after_unknown_outcome += 1);
                            (self.on_event)(BatchEvent::Resubmitting {
                                input: input.file.shown().to_path_buf(),
                                reason,
                            });
                            continue;
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
            };
            let poller = Poller::with_shared_policy(self.api.clone(), self.policy.clone());
            let on_event = self.on_event.clone();
            let shown = input.file.shown().to_path_buf();
            let waited = poller
                .wait_with(&handle, move |event| {
                    if let JobEvent::Polled { state, polls, .. } = event {
                        on_event(BatchEvent::Progress {
                            input: shown.clone(),
                            state: state.into(),
                            polls,
                        });
                    }
                })
                .await;
            let forget = |e: &mut ManifestEntry| {
                if let Some(p) = e.parts.get_mut(index) {
                    p.request_id = None;
                    p.mode = None;
                }
            };
            match waited {
                Ok(document) => return Ok(PartEnd::Done(Box::new(document))),
                // This part alone is sent again; the others go on.
                Err(PollError::Failed { error, .. }) if attempts < PART_ATTEMPTS => {
                    self.update(shared, &input.key, forget).await?;
                    (self.on_event)(BatchEvent::Resubmitting {
                        input: input.file.shown().to_path_buf(),
                        reason: format!(
                            "{which} failed on the service side ({error}); sending that part again"
                        ),
                    });
                }
                Err(PollError::Failed { error, .. }) => {
                    let reason = format!("{which}: {error}");
                    let recorded = reason.clone();
                    self.update(shared, &input.key, |e| {
                        e.state = EntryState::Failed;
                        e.error = Some(recorded);
                    })
                    .await?;
                    return Ok(PartEnd::Outcome(BatchOutcome::Failed(reason)));
                }
                Err(PollError::Deadline { request_id, .. }) => {
                    return Ok(PartEnd::Outcome(BatchOutcome::TimedOut(request_id)));
                }
                // The earlier request is gone: that part is sent anew.
                Err(PollError::Api { source, .. })
                    if resumed
                        && !matches!(source, ApiError::Auth(_))
                        && matches!(source.status(), Some(400 | 404 | 405 | 410)) =>
                {
                    resumed = false;
                    self.update(shared, &input.key, forget).await?;
                }
                Err(other) => return Err(other.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::split::{MAX_PARTS, page_ranges, part_size};

    #[test]
    fn a_huge_page_count_makes_at_most_max_parts() {
        assert_eq!(part_size(40, 7), 7);
        assert_eq!(part_size(1_000_000, 1), 1000);
        let parts = page_ranges(u32::MAX, part_size(u32::MAX, 1)).len();
        assert!(parts <= MAX_PARTS as usize, "{parts}");
    }
}
