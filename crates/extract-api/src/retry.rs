//! When and how long to wait before trying a call again: a trait, so a program can decide, with
//! the standard behaviour as its default implementation and decorators for common limits.
//!
//! The client asks a policy only about failures that are safe to retry (a submission whose
//! outcome is unknown never is); the policy says how long to wait, or to stop.
//!
//! ```
//! use std::time::Duration;
//! use extract_api::{RetryPolicy, RetryPolicyExt, StandardRetry};
//!
//! // The standard policy, but never more than 3 attempts or 10 seconds in all.
//! let policy = StandardRetry::default()
//!     .with_attempt_limit(3)
//!     .with_time_limit(Duration::from_secs(10));
//! # let _: &dyn RetryPolicy = &policy;
//! ```

use std::fmt::Debug;
use std::time::Duration;

use extract_auth::backoff::ExponentialBackoff;

use crate::ApiError;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryDecision {
    /// Try again after this wait.
    Retry(Duration),
    /// Give up: the failure is the call's answer.
    Stop,
}

/// Decides whether a failed call is tried again, and when.
pub trait RetryPolicy: Send + Sync + Debug {
    /// Attempt number `attempt` (1 for the first) failed with `error`, a transient failure,
    /// `elapsed` after the first attempt began.
    fn on_error(&self, attempt: u32, elapsed: Duration, error: &ApiError) -> RetryDecision;

    /// The API refused the access token (401) for the `refusals`-th time in this call, even
    /// though the client had asked its token source for a new one after the first: the token
    /// was revoked or expired early, and the next one may live. (The first refusal is retried
    /// at once, without asking.) By default the same as a failed attempt.
    fn on_unauthorized(&self, refusals: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        self.on_error(refusals, elapsed, error)
    }
}

/// Decorators for any [`RetryPolicy`].
pub trait RetryPolicyExt: RetryPolicy + Sized {
    /// Stops after `attempts` attempts in all, whatever the inner policy says.
    fn with_attempt_limit(self, attempts: u32) -> AttemptLimit<Self> {
        AttemptLimit {
            inner: self,
            attempts,
        }
    }

    /// Starts no attempt (and sleeps no wait) past `limit` after the first began.
    fn with_time_limit(self, limit: Duration) -> TimeLimit<Self> {
        TimeLimit { inner: self, limit }
    }
}

impl<P: RetryPolicy + Sized> RetryPolicyExt for P {}

/// The standard policy: exponential backoff with full jitter (500 ms doubling to 20 s),
/// `Retry-After` first (capped at the longest wait), at most 5 attempts in 2 minutes. A token
/// the API refuses is not the request's fault: those retries back off the same way but are
/// bounded only by the 2 minutes, each with a new token.
#[derive(Debug, Clone)]
pub struct StandardRetry {
    backoff: ExponentialBackoff,
    max_attempts: u32,
    deadline: Duration,
}

impl Default for StandardRetry {
    fn default() -> Self {
        StandardRetry {
            backoff: ExponentialBackoff::new(
                Duration::from_millis(500),
                2.0,
                Duration::from_secs(20),
            ),
            max_attempts: 5,
            deadline: Duration::from_secs(120),
        }
    }
}

impl StandardRetry {
    /// The same policy with another backoff (its longest wait also caps `Retry-After`).
    #[must_use]
    pub fn with_backoff(mut self, backoff: ExponentialBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The same policy with waits from `initial`, doubling, at most `maximum`.
    #[must_use]
    pub fn with_waits(self, initial: Duration, maximum: Duration) -> Self {
        self.with_backoff(ExponentialBackoff::new(initial, 2.0, maximum))
    }

    /// The same policy with another number of attempts (counting the first).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The same policy with another overall deadline for one call.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

impl StandardRetry {
    /// The wait before attempt `attempt + 1`, if it starts before the deadline.
    fn wait(&self, attempt: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        let wait = error
            .retry_after()
            .unwrap_or_else(|| self.backoff.delay(attempt))
            .min(self.backoff.maximum());
        // Saturating: the longest wait may be `Duration::MAX`.
        if elapsed.saturating_add(wait) < self.deadline {
            RetryDecision::Retry(wait)
        } else {
            RetryDecision::Stop
        }
    }
}

impl RetryPolicy for StandardRetry {
    fn on_error(&self, attempt: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        self.wait(attempt, elapsed, error)
    }

    fn on_unauthorized(&self, refusals: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        self.wait(refusals, elapsed, error)
    }
}

/// Never retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn on_error(&self, _: u32, _: Duration, _: &ApiError) -> RetryDecision {
        RetryDecision::Stop
    }
}

/// A policy stopped after a number of attempts ([`RetryPolicyExt::with_attempt_limit`]).
#[derive(Debug, Clone)]
pub struct AttemptLimit<P> {
    inner: P,
    attempts: u32,
}

impl<P: RetryPolicy> RetryPolicy for AttemptLimit<P> {
    fn on_error(&self, attempt: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        if attempt >= self.attempts {
            RetryDecision::Stop
        } else {
            self.inner.on_error(attempt, elapsed, error)
        }
    }

    /// A limit on attempts bounds the requests sent, refused ones included.
    fn on_unauthorized(&self, refusals: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        if refusals >= self.attempts {
            RetryDecision::Stop
        } else {
            self.inner.on_unauthorized(refusals, elapsed, error)
        }
    }
}

/// A policy stopped at a time limit ([`RetryPolicyExt::with_time_limit`]).
#[derive(Debug, Clone)]
pub struct TimeLimit<P> {
    inner: P,
    limit: Duration,
}

impl<P> TimeLimit<P> {
    fn within(&self, decision: RetryDecision, elapsed: Duration) -> RetryDecision {
        match decision {
            RetryDecision::Retry(wait) if elapsed.saturating_add(wait) < self.limit => {
                RetryDecision::Retry(wait)
            }
            _ => RetryDecision::Stop,
        }
    }
}

impl<P: RetryPolicy> RetryPolicy for TimeLimit<P> {
    fn on_error(&self, attempt: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        self.within(self.inner.on_error(attempt, elapsed, error), elapsed)
    }

    fn on_unauthorized(&self, refusals: u32, elapsed: Duration, error: &ApiError) -> RetryDecision {
        self.within(
            self.inner.on_unauthorized(refusals, elapsed, error),
            elapsed,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use extract_auth::backoff::{FixedRandom, Jitter};

    use super::*;

    fn transient(retry_after: Option<Duration>) -> ApiError {
        ApiError::Service {
            endpoint: "GET".into(),
            status: 503,
            field: None,
            body: String::new(),
            request_id: None,
            retry_after,
        }
    }

    #[test]
    fn the_standard_policy_backs_off_honours_retry_after_and_stops() {
        let policy = StandardRetry::default().with_backoff(
            ExponentialBackoff::new(Duration::from_millis(500), 2.0, Duration::from_secs(20))
                .with_jitter(Jitter::Full)
                .with_random(Arc::new(FixedRandom(0.5))),
        );
        let waits: Vec<RetryDecision> = (1..=5)
            .map(|a| policy.on_error(a, Duration::ZERO, &transient(None)))
            .collect();
        let ms = RetryDecision::Retry;
        assert_eq!(
            waits,
            [
                ms(Duration::from_millis(250)),
                ms(Duration::from_millis(500)),
                ms(Duration::from_millis(1000)),
                ms(Duration::from_millis(2000)),
                RetryDecision::Stop,
            ],
            "half of each ceiling (the injected random source), five attempts at most"
        );
        let asked = transient(Some(Duration::from_secs(3)));
        assert_eq!(
            policy.on_error(1, Duration::ZERO, &asked),
            ms(Duration::from_secs(3))
        );
        let too_long = transient(Some(Duration::from_secs(300)));
        assert_eq!(
            policy.on_error(1, Duration::ZERO, &too_long),
            ms(Duration::from_secs(20)),
            "clamped"
        );
        assert_eq!(
            policy.on_error(1, Duration::from_secs(119), &asked),
            RetryDecision::Stop,
            "past the deadline"
        );
        assert_eq!(
            NoRetry.on_error(1, Duration::ZERO, &asked),
            RetryDecision::Stop
        );
    }

    #[test]
    fn decorators_limit_attempts_and_time() {
        let limited = StandardRetry::default().with_attempt_limit(2);
        assert!(matches!(
            limited.on_error(1, Duration::ZERO, &transient(None)),
            RetryDecision::Retry(_)
        ));
        assert_eq!(
            limited.on_error(2, Duration::ZERO, &transient(None)),
            RetryDecision::Stop
        );
        let timed = StandardRetry::default().with_time_limit(Duration::from_secs(5));
        let asked = transient(Some(Duration::from_secs(3)));
        assert!(matches!(
            timed.on_error(1, Duration::ZERO, &asked),
            RetryDecision::Retry(_)
        ));
        assert_eq!(
            timed.on_error(1, Duration::from_secs(3), &asked),
            RetryDecision::Stop
        );
    }

    #[test]
    fn huge_waits_and_retry_afters_stop_instead_of_overflowing() {
        let endless = StandardRetry::default()
            .with_waits(Duration::MAX, Duration::MAX)
            .with_deadline(Duration::MAX);
        let asked = transient(Some(Duration::MAX));
        for elapsed in [Duration::ZERO, Duration::from_secs(1), Duration::MAX] {
            assert_eq!(
                endless.on_error(1, elapsed, &asked),
                RetryDecision::Stop,
                "a wait that never ends is no retry"
            );
            assert_eq!(
                endless.on_unauthorized(1, elapsed, &asked),
                RetryDecision::Stop
            );
            let timed = endless.clone().with_time_limit(Duration::MAX);
            assert_eq!(timed.on_error(1, elapsed, &asked), RetryDecision::Stop);
        }
        let generous = StandardRetry::default().with_time_limit(Duration::MAX);
        assert_eq!(
            generous.on_error(1, Duration::MAX - Duration::from_secs(1), &transient(None)),
            RetryDecision::Stop
        );
    }

    #[test]
    fn refused_tokens_are_retried_by_time_not_by_count() {
        let policy = StandardRetry::default();
        let refused = ApiError::Service {
            endpoint: "GET".into(),
            status: 401,
            field: None,
            body: String::new(),
            request_id: None,
            retry_after: None,
        };
        assert!(matches!(
            policy.on_unauthorized(50, Duration::from_secs(60), &refused),
            RetryDecision::Retry(_)
        ));
        assert_eq!(
            policy.on_unauthorized(2, Duration::from_secs(120), &refused),
            RetryDecision::Stop
        );
        assert_eq!(
            policy
                .clone()
                .with_attempt_limit(3)
                .on_unauthorized(3, Duration::ZERO, &refused),
            RetryDecision::Stop
        );
        assert_eq!(
            NoRetry.on_unauthorized(1, Duration::ZERO, &refused),
            RetryDecision::Stop
        );
    }
}
