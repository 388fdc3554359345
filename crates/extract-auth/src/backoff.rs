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
    /// before jitter. Never more than the maximum, whatever the factor (`Duration::MAX`
    /// included).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(64) as i32;
        let grown = self.initial.as_secs_f64() * self.factor.powi(exponent);
        // `grown` may be infinite, or NaN (zero times infinity); the maximum may be too large
        // for `from_secs_f64` once rounded to a float. Either way the answer is the maximum.
        match Duration::try_from_secs_f64(grown) {
            Ok(grown) => grown.min(self.maximum),
            Err(_) => self.maximum,
        }
    }

    /// The delay before attempt `attempt + 1`, jittered.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        // A program's own `Random` may stray outside [0, 1), or answer NaN.
        let unit = self.random.next_unit();
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => scaled(ceiling, unit),
            Jitter::Shorten(share) => {
                let share = if share.is_nan() {
                    0.0
                } else {
                    share.clamp(0.0, 1.0)
                };
                scaled(ceiling, 1.0 - unit * share)
            }
        }
    }
}

/// `duration` times `share` (from 0 to 1), never more than `duration`: `Duration::mul_f64`
/// panics when the product, rounded to a float, passes `Duration::MAX`.
fn scaled(duration: Duration, share: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * share)
        .map_or(duration, |d| d.min(duration))
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

    #[test]
    fn extreme_settings_stay_within_bounds_and_never_panic() {
        /// A program's own random source that answers nonsense.
        #[derive(Debug)]
        struct Broken(f64);
        impl Random for Broken {
            fn next_unit(&self) -> f64 {
                self.0
            }
        }
        for (initial, factor, maximum) in [
            (Duration::MAX, 2.0, Duration::MAX),
            (Duration::from_secs(1), f64::MAX, Duration::MAX),
            (Duration::ZERO, 1e300, Duration::MAX),
            (Duration::from_secs(1), 1e10, Duration::from_secs(5)),
        ] {
            for jitter in [
                Jitter::None,
                Jitter::Full,
                Jitter::Shorten(0.0),
                Jitter::Shorten(f64::NAN),
                Jitter::Shorten(7.0),
            ] {
                for unit in [0.0, 0.999_999, 1.0, -3.0, 9.0, f64::NAN, f64::INFINITY] {
                    let backoff = ExponentialBackoff::new(initial, factor, maximum)
                        .with_jitter(jitter)
                        .with_random(Arc::new(Broken(unit)));
                    for attempt in [0, 1, 2, 64, 65, u32::MAX] {
                        let ceiling = backoff.ceiling(attempt);
                        assert!(ceiling <= maximum);
                        assert!(backoff.delay(attempt) <= ceiling);
                    }
                }
            }
        }
    }
}
