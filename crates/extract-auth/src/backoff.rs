//! The one exponential backoff every layer shares (token refreshes, API retries, polling), with
//! its random source injectable so that jitter can be tested.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use extract_auth::backoff::{ExponentialBackoff, FixedRandom, Jitter};
//!
//! let backoff = ExponentialBackoff::new(Duration::from_millis(500), 2.0, Duration::from_secs(20))
//!     .with_jitter(Jitter::Full)
//!     .with_random(Arc::new(FixedRandom(0.5)));
//! assert_eq!(backoff.ceiling(3), Duration::from_secs(2));
//! assert_eq!(backoff.delay(3), Duration::from_secs(1));
//! ```

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

/// A source of uniform numbers in `[0, 1)`.
pub trait Random: Send + Sync + Debug {
    /// The next number, in `[0, 1)`.
    fn next_unit(&self) -> f64;
}

/// The thread-local generator of `rand`: the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadRandom;

impl Random for ThreadRandom {
    fn next_unit(&self) -> f64 {
        rand::thread_rng().r#gen::<f64>()
    }
}

/// Always the same number (clamped to `[0, 1)`): for tests, or to turn jitter off.
#[derive(Debug, Clone, Copy)]
pub struct FixedRandom(pub f64);

impl Random for FixedRandom {
    fn next_unit(&self) -> f64 {
        self.0.clamp(0.0, 1.0 - f64::EPSILON)
    }
}

/// How a delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly the computed delay.
    None,
    /// Anywhere from zero to the computed delay ("full jitter"): retries of many clients
    /// spread out the most.
    Full,
    /// The computed delay shortened by a random share of at most this (0 to 1): a delay
    /// never grows past its cap, and polls stay near their schedule.
    Shorten(f64),
}

/// Delays that start at `initial`, grow by `factor` per attempt up to `maximum`, then jitter.
#[derive(Debug, Clone)]
pub struct ExponentialBackoff {
    initial: Duration,
    factor: f64,
    maximum: Duration,
    jitter: Jitter,
    random: Arc<dyn Random>,
}

impl ExponentialBackoff {
    /// Delays from `initial`, times `factor` each attempt, at most `maximum`; full jitter.
    pub fn new(initial: Duration, factor: f64, maximum: Duration) -> Self {
        ExponentialBackoff {
            initial,
            factor: if factor.is_finite() && factor >= 1.0 {
                factor
            } else {
                1.0
            },
            maximum,
            jitter: Jitter::Full,
            random: Arc::new(ThreadRandom),
        }
    }

    /// The same backoff with another jitter.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same backoff drawing from another random source.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// The first delay.
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest delay.
    pub fn maximum(&self) -> Duration {
        self.maximum
    }

    /// The delay before attempt `attempt + 1` (1 for the delay after the first attempt),
    /// before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let grown = self.initial.as_secs_f64() * self.factor.powi(exponent);
        Duration::from_secs_f64(grown.min(self.maximum.as_secs_f64()).max(0.0))
    }

    /// The delay before attempt `attempt + 1`, jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => ceiling.mul_f64(self.random.next_unit()),
            Jitter::Shorten(share) => {
                ceiling.mul_f64(1.0 - self.random.next_unit() * share.clamp(0.0, 1.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_its_cap_and_jitters_as_asked() {
        let backoff =
            ExponentialBackoff::new(Duration::from_millis(250), 2.0, Duration::from_secs(10))
                .with_jitter(Jitter::None);
        let ceilings: Vec<u128> = (1..=8).map(|a| backoff.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [250, 500, 1000, 2000, 4000, 8000, 10000, 10000]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(10));

        let half = Arc::new(FixedRandom(0.5));
        let full = backoff
            .clone()
            .with_jitter(Jitter::Full)
            .with_random(half.clone());
        assert_eq!(full.delay(3), Duration::from_millis(500));
        let shorten = backoff.with_jitter(Jitter::Shorten(0.1)).with_random(half);
        assert_eq!(shorten.delay(3), Duration::from_millis(950));
        // The real source stays within the bounds.
        let real = ExponentialBackoff::new(Duration::from_secs(1), 1.5, Duration::from_secs(2))
            .with_jitter(Jitter::Shorten(0.1));
        for _ in 0..100 {
            let d = real.delay(1);
            assert!(d <= Duration::from_secs(1) && d >= Duration::from_millis(900));
        }
    }
}
