//! One document's way through the stages: what an earlier run left, the output cache, then
//! submit, wait and write.

use extract_api::{ApiError, ExtractApi, OutputDocument};

use crate::cache::OutputCache;
use crate::manifest::EntryState;
use crate::runner::{BatchRunner, Input, Shared};
use crate::{BatchEvent, BatchOutcome, DocumentError, JobHandle, ManifestEntry, PollError};

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// One document through the stages: an earlier run's outputs completed, the output cache,
    /// page splitting, or submit, wait and write.
    pub(crate) async fn try_process(
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
            .manifest()
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
        // Sent as page-split jobs: the selected pages (all, without `pages`) in parts.
        let split = match self.split_pages {
            Some(size) => input.page_count().await.and_then(|count| {
                crate::split::split_jobs(count, self.options.pages.as_deref(), size)
                    .map(|labels| (size, labels))
            }),
            None => None,
        };
        // Extracted before with the same options, into any folder: no request at all. A merged
        // output has its own key: it answers split runs only, and a single job's output never
        // answers them.
        let cache_key = self
            .cache
            .as_ref()
            .filter(|_| input.file.identity_is_sha256())
            .map(|(_, scope)| match &split {
                Some((size, _)) => OutputCache::split_key(scope, &sha256, &self.options, *size),
                None => OutputCache::key(scope, &sha256, &self.options),
            });
        if let (Some((cache, scope)), Some(key)) = (&self.cache, &cache_key) {
            let (cache, scope, key) = (cache.clone(), scope.clone(), key.clone());
            let hit = tokio::task::spawn_blocking(move || cache.get(&scope, &key))
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
        if let Some((_, labels)) = split {
            return match self
                .extract_in_parts(input, &sha256, labels, earlier, shared)
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

        let waited = self.wait_for(input, &job, resumed).await;
        match waited {
            Ok(document) => {
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
            // (A refused token exchange has a 400 or 401 too, but is the credentials' fault.)
            Err(PollError::Api { source, .. })
                if resumed
                    && !matches!(source, ApiError::Auth(_))
                    && matches!(source.status(), Some(400 | 404 | 405 | 410)) =>
            {
                tracing::info!(file = %file.display(), "the earlier request is gone ({source}); submitting again");
                let job = self.submit_new(input, &sha256, None, shared).await?;
                match self.wait_for(input, &job, false).await {
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
    pub(crate) async fn remember(&self, key: Option<&str>, document: &OutputDocument) {
        let (Some((cache, scope)), Some(key)) = (&self.cache, key) else {
            return;
        };
        let (cache, scope, key, document) = (
            cache.clone(),
            scope.clone(),
            key.to_string(),
            document.clone(),
        );
        let stored = tokio::task::spawn_blocking(move || cache.put(&scope, &key, &document)).await;
        if let Ok(Err(e)) = stored {
            tracing::warn!("could not store the output in the cache: {e}");
        }
    }
}
