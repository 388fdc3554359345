//! How often to ask, and for how long.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use extract_api::backoff::{ExponentialBackoff, Jitter, Random, ThreadRandom};

/// Decides when to poll a job again, and when to give up waiting.
///
/// [`PollPolicy`] is the standard implementation; a program may bring its own (a fixed
/// schedule, a policy that learns from finished jobs…) to [`crate::Poller::new`].
pub trait PollingPolicy: Send + Sync + Debug {
    /// The wait before poll number `poll` (1 for the first); `retry_after` when the server
    /// asked for one with its last answer.
    fn delay(&self, poll: u32, retry_after: Option<Duration>) -> Duration;

    /// How long a wait may last in all.
    fn deadline(&self) -> Duration;
}

/// When to poll a job again, and when to give up.
///
/// Delays start at `first_delay` and grow by `factor` up to `max_delay`; each is shortened by a
/// random share of up to `jitter` (so many jobs started together spread out, and a delay never
/// grows past `max_delay`); a server's `Retry-After` replaces the computed delay, clamped to
/// `[floor, max_retry_after]`; no delay is ever below `floor`. The defaults notice a job that
/// finishes after 10 s within 1.5 s, with at most 10 polls (see `docs/benchmarks.md`).
///
/// Build it from [`PollPolicy::default`] with the `with_*` setters; fields may be added in
/// later versions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PollPolicy {
    /// The wait before the first poll. Default 1 s.
    pub first_delay: Duration,
    /// How much each delay grows. Default 1.5.
    pub factor: f64,
    /// The longest computed delay. Default 1.5 s.
    pub max_delay: Duration,
    /// The share of a delay that jitter may take off, from 0 to 1. Default 0.1.
    pub jitter: f64,
    /// No delay is shorter, whatever the server says. Default 250 ms.
    pub floor: Duration,
    /// The longest `Retry-After` honoured. Default 60 s.
    pub max_retry_after: Duration,
    /// Give up waiting after this long. Default 30 minutes.
    pub deadline: Duration,
    /// Where jitter's randomness comes from. Default: the thread's generator.
    pub random: Arc<dyn Random>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            first_delay: Duration::from_secs(1),
            factor: 1.5,
            max_delay: Duration::from_millis(1500),
            jitter: 0.1,
            floor: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(60),
            deadline: Duration::from_secs(30 * 60),
            random: Arc::new(ThreadRandom),
        }
    }
}

impl PollPolicy {
    /// The same policy with another deadline.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The same policy with delays from `first`, growing by `factor`, at most `max`.
    #[must_use]
    pub fn with_delays(mut self, first: Duration, factor: f64, max: Duration) -> Self {
        self.first_delay = first;
        self.factor = factor;
        self.max_delay = max;
        self
    }

    /// The same policy with another floor (no delay is shorter).
    #[must_use]
    pub fn with_floor(mut self, floor: Duration) -> Self {
        self.floor = floor;
        self
    }

    /// The same policy honouring `Retry-After` up to `max`.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The same policy with another share of jitter (0 to 1).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same policy drawing its jitter from `random`.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// The shared exponential backoff these fields describe.
    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoff::new(self.first_delay, self.factor, self.max_delay)
            .with_jitter(Jitter::Shorten(self.jitter))
            .with_random(self.random.clone())
    }

    /// The computed delay before poll number `poll` (1 for the first), before jitter.
    #[cfg(test)]
    pub(crate) fn base_delay(&self, poll: u32) -> Duration {
        self.backoff().ceiling(poll).max(self.floor)
    }
}

impl PollingPolicy for PollPolicy {
    /// The delay before poll number `poll`, jittered, or the server's `Retry-After` if it sent one.
    fn delay(&self, poll: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.clamp(self.floor, self.max_retry_after.max(self.floor));
        }
        self.backoff().delay(poll).max(self.floor)
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_jitter_only_shortens() {
        let p = PollPolicy::default();
        let bases: Vec<u128> = (1..=5).map(|n| p.base_delay(n).as_millis()).collect();
        assert_eq!(bases, [1000, 1500, 1500, 1500, 1500]);
        for poll in 1..20 {
            let d = p.delay(poll, None);
            assert!(
                d <= p.base_delay(poll) && d >= p.base_delay(poll).mul_f64(0.9),
                "{d:?}"
            );
        }
    }

    #[test]
    fn jitter_draws_from_the_injected_source() {
        use extract_api::backoff::FixedRandom;
        let p = PollPolicy {
            random: Arc::new(FixedRandom(0.5)),
            ..PollPolicy::default()
        };
        // Half of the 10% jitter off each base delay.
        assert_eq!(p.delay(1, None), Duration::from_millis(950));
        assert_eq!(p.delay(2, None), Duration::from_millis(1425));
    }

    #[test]
    fn retry_after_is_honoured_but_clamped() {
        let p = PollPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.delay(1, Some(Duration::ZERO)),
            Duration::from_millis(250),
            "the floor"
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(60),
            "the cap"
        );
    }
}
