//! The wait stage: a job polled under the batch's policy, near its predicted finish once the
//! batch has learnt its seconds per page, and every poll reported as progress.

use std::sync::{Arc, Mutex};

use extract_api::{ExtractApi, OutputDocument};
use extract_poll::Pace;

use crate::runner::{BatchRunner, Input};
use crate::{BatchEvent, JobEvent, JobHandle, PollError, Poller};

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// Waits for `job` of `input`. A new job is polled first near its predicted finish, once
    /// the batch has learnt its pace, and teaches the pace when it ends; a `resumed` one has
    /// been running for an unknown time, so it does neither.
    pub(crate) async fn wait_for(
        &self,
        input: &Input,
        job: &JobHandle,
        resumed: bool,
    ) -> Result<OutputDocument, PollError> {
        let pages = match &self.pace {
            Some(_) if !resumed => input.page_count().await,
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
        let shown = input.file.shown().to_path_buf();
        let waiting = tokio::time::Instant::now();
        let last_pending = Arc::new(Mutex::new(None));
        let pending = last_pending.clone();
        let waited = poller
            .wait_with(job, move |event| match event {
                JobEvent::Polled {
                    state,
                    polls,
                    elapsed,
                    ..
                } => {
                    *pending.lock().unwrap_or_else(|e| e.into_inner()) = Some(elapsed);
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
        if let (Ok(_), Some(pace), Some(pages)) = (&waited, &self.pace, pages) {
            let pending = *last_pending.lock().unwrap_or_else(|e| e.into_inner());
            pace.record(pages, pending, waiting.elapsed());
        }
        waited
    }
}
