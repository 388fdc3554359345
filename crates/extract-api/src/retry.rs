//! When and how long to wait before trying a call again.

use std::time::Duration;

use rand::Rng;

/// Bounded retries with exponential backoff and full jitter, `Retry-After` first, and an overall
/// deadline for one call (all its attempts and waits together).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, counting the first. Default 5.
    pub max_attempts: u32,
    /// The first backoff; it doubles each time, and each wait is a random share of it. Default 500 ms.
    pub initial_backoff: Duration,
    /// The longest single wait, `Retry-After` included. Default 20 s.
    pub max_backoff: Duration,
    /// No new attempt starts once this much time has passed since the first. Default 2 min.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failed), or `None` to give up.
    pub(crate) fn wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.max_backoff);
        let wait = retry_after
            .unwrap_or_else(|| ceiling.mul_f64(rand::thread_rng().r#gen::<f64>()))
            .min(self.max_backoff);
        (elapsed + wait < self.deadline).then_some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_respects_limits() {
        let policy = RetryPolicy::default();
        for attempt in 1..5 {
            let ceiling = Duration::from_millis(500) * (1 << (attempt - 1));
            let wait = policy.wait(attempt, Duration::ZERO, None).expect("retries");
            assert!(wait <= ceiling, "attempt {attempt}: {wait:?}");
        }
        assert_eq!(
            policy.wait(5, Duration::ZERO, None),
            None,
            "five attempts at most"
        );
        assert_eq!(
            policy.wait(1, Duration::ZERO, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            policy.wait(1, Duration::ZERO, Some(Duration::from_secs(300))),
            Some(Duration::from_secs(20)),
            "clamped"
        );
        assert_eq!(
            policy.wait(1, Duration::from_secs(119), Some(Duration::from_secs(3))),
            None,
            "past the deadline"
        );
        assert_eq!(RetryPolicy::none().wait(1, Duration::ZERO, None), None);
    }
}
