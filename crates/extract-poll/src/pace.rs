//! Polls near the physical minimum: one poll at the moment a job finishes.
//!
//! Processing time grows with pages, so a batch learns seconds per page from its own finished
//! jobs and polls each new job first near its predicted finish (a little before), then every
//! half second, then as the standard policy would. While nothing is known, the standard policy
//! applies unchanged.
//!
//! A finished job's time is bracketed by its last poll that found it pending and the poll that
//! found it done; the midpoint is the estimate. A job found done at its first poll says only
//! "no later than this": it is recorded a little earlier, so predictions drift down until a
//! pending poll brackets them again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::PollingPolicy;

/// Finished jobs remembered (the most recent).
const SAMPLES: usize = 64;
/// How much earlier than predicted the first poll goes.
const EARLY: f64 = 0.9;
/// The polls after a predicted first one, until the standard policy takes over.
const CLOSE_POLLS: u32 = 4;
const CLOSE_DELAY: Duration = Duration::from_millis(500);

/// Seconds per page of a batch's finished jobs.
#[derive(Debug, Default)]
pub struct Pace {
    samples: Mutex<VecDeque<f64>>,
}

impl Pace {
    /// Records a finished job of `pages` pages: `pending` is when a poll last found it pending
    /// (if one did), `done` when a poll found it done, both since submission.
    pub fn record(&self, pages: u32, pending: Option<Duration>, done: Duration) {
        if pages == 0 {
            return;
        }
        let finished = match pending {
            // Halves first: the sum of two long times could overflow.
            Some(pending) => pending / 2 + done / 2,
            None => done.mul_f64(EARLY),
        };
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.len() == SAMPLES {
            samples.pop_front();
        }
        samples.push_back(finished.as_secs_f64() / f64::from(pages));
    }

    /// When a job of `pages` pages is expected to finish, once any job has.
    pub fn predict(&self, pages: u32) -> Option<Duration> {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if samples.is_empty() || pages == 0 {
            return None;
        }
        let mut sorted: Vec<f64> = samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        Duration::try_from_secs_f64(median * f64::from(pages)).ok()
    }

    /// The policy for a job expected to finish after `expected`: a first poll a little before,
    /// then close polls, then `base`.
    pub fn policy(expected: Duration, base: Arc<dyn PollingPolicy>) -> Arc<dyn PollingPolicy> {
        Arc::new(Predicted {
            first: expected.mul_f64(EARLY),
            base,
        })
    }
}

#[derive(Debug)]
struct Predicted {
    first: Duration,
    base: Arc<dyn PollingPolicy>,
}

impl PollingPolicy for Predicted {
    fn delay(&self, poll: u32, retry_after: Option<Duration>) -> Duration {
        if retry_after.is_some() {
            return self.base.delay(poll, retry_after);
        }
        match poll {
            1 => self.first.min(self.base.deadline()),
            // Never slower than the base policy's own first wait (tests poll every few ms).
            n if n <= 1 + CLOSE_POLLS => CLOSE_DELAY.min(self.base.delay(1, None)),
            n => self.base.delay(n - CLOSE_POLLS, None),
        }
    }

    fn deadline(&self) -> Duration {
        self.base.deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PollPolicy;

    #[test]
    fn learns_seconds_per_page_from_brackets() {
        let pace = Pace::default();
        assert_eq!(pace.predict(10), None, "nothing known yet");
        // Pending at 4 s, done at 5 s: finished about 4.5 s in, 0.45 s a page.
        pace.record(10, Some(Duration::from_secs(4)), Duration::from_secs(5));
        assert_eq!(pace.predict(20), Some(Duration::from_secs(9)));
        // Done at the first poll: only an upper bound, recorded a little earlier.
        pace.record(10, None, Duration::from_secs(5));
        pace.record(10, None, Duration::from_secs(5));
        assert_eq!(pace.predict(10), Some(Duration::from_secs_f64(4.5)));
        pace.record(0, None, Duration::from_secs(5));
        assert_eq!(pace.predict(0), None);
    }

    #[test]
    fn the_first_poll_comes_just_before_the_prediction_then_close_ones() {
        let base: Arc<dyn PollingPolicy> = Arc::new(PollPolicy::default().with_jitter(0.0));
        let policy = Pace::policy(Duration::from_secs(10), base);
        assert_eq!(policy.delay(1, None), Duration::from_secs(9));
        assert_eq!(policy.delay(2, None), CLOSE_DELAY);
        assert_eq!(policy.delay(5, None), CLOSE_DELAY);
        assert_eq!(policy.delay(6, None), Duration::from_millis(1500));
        assert_eq!(
            policy.delay(2, Some(Duration::from_secs(3))),
            Duration::from_secs(3),
            "the server's Retry-After still rules"
        );
        assert_eq!(policy.deadline(), PollPolicy::default().deadline);
    }
}
