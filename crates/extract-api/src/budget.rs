//! One request budget for a whole process: every request to Kensho (submissions, polls,
//! downloads) takes a token from it, so a batch keeps to a rate, not to a count of documents in
//! flight.
//!
//! The rate adapts as TCP's congestion control does. Until the first 429 it doubles every
//! second of traffic (slow start: a batch is not held back by a cautious first guess); after,
//! while answers are fine, it grows additively (by half a request a second per second of
//! traffic at that rate); a 429 cuts it
//! multiplicatively (to 70%, once per second however many answers say so at once) and a
//! `Retry-After` pauses every request of the process until it has passed. Workers on separate
//! machines sharing one client id converge on the service's limit without talking to each
//! other, and share it fairly. A program's own cap bounds the rate.
//!
//! Time is tokio's, so the logic is tested under a paused clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The rate a budget starts at, if its cap allows: high enough that a small batch does not
/// wait, low enough that a fleet starting together does not flood the service.
const START_RPS: f64 = 5.0;
/// The lowest rate a cut goes to.
const MIN_RPS: f64 = 0.5;
/// What a cut keeps.
const CUT: f64 = 0.7;
/// Cuts closer together than this count once: a burst of 429s is one signal.
const CUT_WINDOW: Duration = Duration::from_secs(1);
/// What each good answer adds, over the rate: half a request a second per second.
const GROWTH: f64 = 0.5;
/// Requests that may start at once: requests are paced, never sent in a burst (a burst is what
/// a rate limit refuses).
const BURST: f64 = 1.0;
/// The longest `Retry-After` honoured for the whole process (a longer one is a misconfigured
/// server, not a plan).
const MAX_PAUSE: Duration = Duration::from_secs(120);

/// An adaptive requests-per-second budget, shared by every clone of a client.
#[derive(Debug)]
pub struct RateBudget {
    max_rps: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// Requests that may start now (at most [`BURST`]).
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
    last_cut: Option<Instant>,
}

/// What a budget is doing, for displays and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct BudgetState {
    /// The current rate, requests per second.
    pub rate: f64,
    /// Time left of a `Retry-After` pause.
    pub paused_for: Duration,
}

impl RateBudget {
    /// A budget of at most `max_rps` requests a second (at least [`MIN_RPS`]).
    pub fn new(max_rps: f64) -> RateBudget {
        let max_rps = if max_rps.is_finite() {
            max_rps.max(MIN_RPS)
        } else {
            f64::MAX
        };
        let rate = START_RPS.min(max_rps);
        RateBudget {
            max_rps,
            state: Mutex::new(State {
                rate,
                tokens: 1.0,
                refilled: Instant::now(),
                paused_until: None,
                last_cut: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a request may start, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                state.refill(now);
                match state.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        if state.tokens >= 1.0 {
                            state.tokens -= 1.0;
                            return;
                        }
                        Duration::from_secs_f64((1.0 - state.tokens) / state.rate)
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// An answer that was not a 429: the rate doubles per second's worth of such answers until
    /// the first 429, then grows by half a request a second for every second's worth.
    pub fn on_success(&self) {
        let mut state = self.lock();
        // Slow start until the service first pushes back: one more a second per answer.
        let growth = if state.last_cut.is_none() {
            1.0
        } else {
            GROWTH / state.rate
        };
        state.rate = (state.rate + growth).min(self.max_rps);
    }

    /// A 429: the rate is cut (once per second), and a `Retry-After` pauses every request.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.lock();
        let now = Instant::now();
        if state
            .last_cut
            .is_none_or(|cut| now.duration_since(cut) >= CUT_WINDOW)
        {
            state.rate = (state.rate * CUT).max(MIN_RPS);
            state.last_cut = Some(now);
        }
        state.tokens = state.tokens.min(0.0);
        if let Some(wait) = retry_after {
            let until = now + wait.min(MAX_PAUSE);
            state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
        }
    }

    /// The current rate and pause.
    pub fn state(&self) -> BudgetState {
        let state = self.lock();
        BudgetState {
            rate: state.rate,
            paused_for: state.paused_until.map_or(Duration::ZERO, |u| {
                u.saturating_duration_since(Instant::now())
            }),
        }
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        // No burst after a quiet spell or a pause.
        self.tokens = (self.tokens + elapsed * self.rate).min(BURST);
        self.refilled = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests started in `span` by as many callers as it takes to use the budget.
    async fn started_within(budget: &RateBudget, span: Duration) -> u32 {
        let end = Instant::now() + span;
        let mut started = 0;
        while Instant::now() < end {
            budget.acquire().await;
            if Instant::now() < end {
                started += 1;
            }
        }
        started
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_to_its_rate_and_grows_while_answers_are_fine() {
        let budget = RateBudget::new(100.0);
        let first = started_within(&budget, Duration::from_secs(2)).await;
        assert!((9..=12).contains(&first), "about 5 a second: {first}");
        // Slow start: one more a second per answer, so 5 answers at 5 a second double it.
        for _ in 0..5 {
            budget.on_success();
        }
        assert_eq!(budget.state().rate, 10.0);
        // After a first 429 (10 → 7): additive, half a request a second per second.
        budget.on_throttled(None);
        assert!((budget.state().rate - 7.0).abs() < 1e-9);
        for _ in 0..351 {
            budget.on_success();
        }
        let rate = budget.state().rate;
        assert!((20.0..=21.0).contains(&rate), "sqrt(7² + 351) = 20: {rate}");
        tokio::time::advance(Duration::from_secs(1)).await;
        let later = started_within(&budget, Duration::from_secs(2)).await;
        assert!(
            (40..=42).contains(&later),
            "about 20 a second, evenly: {later}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_above_the_cap() {
        let budget = RateBudget::new(8.0);
        for _ in 0..10_000 {
            budget.on_success();
        }
        assert_eq!(budget.state().rate, 8.0);
        tokio::time::advance(Duration::from_secs(10)).await;
        let started = started_within(&budget, Duration::from_secs(5)).await;
        assert!(
            (40..=41).contains(&started),
            "8 a second, no burst after a quiet spell: {started}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_is_one_cut_and_retry_after_pauses_everyone() {
        let budget = RateBudget::new(100.0);
        for _ in 0..35 {
            budget.on_success();
        }
        let before = budget.state().rate;
        assert_eq!(before, 40.0, "slow start");
        for _ in 0..16 {
            budget.on_throttled(None);
        }
        let after = budget.state().rate;
        assert!((after - before * CUT).abs() < 1e-9, "{before} → {after}");
        tokio::time::advance(CUT_WINDOW).await;
        budget.on_throttled(Some(Duration::from_secs(3)));
        assert!((budget.state().rate - before * CUT * CUT).abs() < 1e-9);
        assert_eq!(budget.state().paused_for, Duration::from_secs(3));
        let start = Instant::now();
        budget.acquire().await;
        assert!(
            start.elapsed() >= Duration::from_secs(3),
            "nobody starts during the pause"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cuts_stop_at_the_floor_and_odd_caps_are_sane() {
        let budget = RateBudget::new(f64::NAN);
        for _ in 0..100 {
            tokio::time::advance(CUT_WINDOW).await;
            budget.on_throttled(None);
        }
        assert_eq!(budget.state().rate, MIN_RPS);
        assert_eq!(RateBudget::new(0.0).state().rate, MIN_RPS);
        assert_eq!(RateBudget::new(-3.0).state().rate, MIN_RPS);
    }
}
