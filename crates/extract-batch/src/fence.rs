//! Fencing: whether this worker may still act on its shard.
//!
//! A store shard is held by a lease ([`crate::lease`]) that its holder renews. A worker that is
//! paused (SIGSTOP, a VM frozen, a long GC in a neighbour) or cut off from the store cannot know
//! that another worker has taken the shard over meanwhile; if it woke up and went on, both would
//! submit the same documents and overwrite each other's journal. So every action with an effect
//! outside the process (a submission, a journal segment, a snapshot, a deletion, an output, a
//! renewal) first asks the fence, and the fence answers from this process's own monotonic clock:
//! the lease is good until the moment its last successful renewal was *sent*, plus its term, less
//! a safety margin. A takeover waits for the term plus the margin measured on the store's clock
//! from the lease's last write, which happened after that send: the two never overlap, whatever
//! the machines' wall clocks say. Writes to shared state are in addition conditional (see
//! [`crate::journal`]), so a write that slipped through the check in the instant before a pause
//! is ignored by every later reader.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why this worker stopped: its lease lapsed or was taken.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{shard}: this worker's lease {why}; it stopped submitting and writing, and another worker may hold the shard now"
)]
pub struct LeaseLost {
    /// The shard, as shown to a person.
    pub shard: String,
    /// What happened: lapsed unrenewed, or taken by another worker.
    pub why: String,
}

/// The safety margin of a lease of `term`: a quarter of it, at least half a second. A worker
/// stops this long before its lease ends; a takeover waits this long after.
pub(crate) fn margin(term: Duration) -> Duration {
    (term / 4).max(Duration::from_millis(500))
}

/// Whether this worker may act on its shard; cloned into every task that acts.
#[derive(Debug, Clone)]
pub(crate) struct Fence(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    shard: String,
    /// The lease's generation: a takeover makes a new one, and the journal's writes carry it.
    generation: u64,
    /// Until when this worker may act; `None`: for as long as the process runs (a local lock).
    until: Mutex<Option<Instant>>,
    /// Set when the lease was taken (a renewal refused), whatever the clock says.
    lost: AtomicBool,
    why: Mutex<String>,
    /// Off only through the test switch that shows what fencing prevents.
    enforced: bool,
    changed: tokio::sync::Notify,
}

impl Fence {
    /// A fence that never closes: the shard's claim cannot lapse (a local folder's lock is
    /// held by the operating system for the process's life).
    pub(crate) fn unbounded(shard: &str) -> Fence {
        Fence(Arc::new(Inner {
            shard: shard.to_string(),
            generation: 0,
            until: Mutex::new(None),
            lost: AtomicBool::new(false),
            why: Mutex::new(String::new()),
            enforced: true,
            changed: tokio::sync::Notify::new(),
        }))
    }

    /// A lease of `generation`, good until `until` unless extended.
    pub(crate) fn leased(shard: &str, generation: u64, until: Instant, enforced: bool) -> Fence {
        Fence(Arc::new(Inner {
            shard: shard.to_string(),
            generation,
            until: Mutex::new(Some(until)),
            lost: AtomicBool::new(false),
            why: Mutex::new(String::new()),
            enforced,
            changed: tokio::sync::Notify::new(),
        }))
    }

    /// The lease's generation (0 for a claim that is not a lease).
    pub(crate) fn generation(&self) -> u64 {
        self.0.generation
    }

    /// Ok while this worker may act; asked immediately before every action with an effect.
    pub(crate) fn check(&self) -> Result<(), LeaseLost> {
        if !self.0.enforced {
            return Ok(());
        }
        if self.0.lost.load(Ordering::SeqCst) {
            return Err(self.lost_error());
        }
        let until = *self.0.until.lock().unwrap_or_else(|e| e.into_inner());
        match until {
            Some(until) if Instant::now() >= until => {
                self.lose("lapsed before it could be renewed");
                Err(self.lost_error())
            }
            _ => Ok(()),
        }
    }

    /// A renewal sent at `sent` succeeded: good until `sent + term - margin`.
    pub(crate) fn renewed(&self, sent: Instant, term: Duration) {
        let until = sent + term.saturating_sub(margin(term));
        let mut current = self.0.until.lock().unwrap_or_else(|e| e.into_inner());
        if current.is_some_and(|c| c < until) {
            *current = Some(until);
        }
        drop(current);
        self.0.changed.notify_waiters();
    }

    /// The lease is gone (taken over, or lapsed): nothing more is done under it.
    pub(crate) fn lose(&self, why: &str) {
        if !self.0.lost.swap(true, Ordering::SeqCst) {
            *self.0.why.lock().unwrap_or_else(|e| e.into_inner()) = why.to_string();
            tracing::error!(shard = %self.0.shard, "the lease {why}; stopping");
        }
        self.0.changed.notify_waiters();
    }

    /// Whether the test switch turned enforcement off.
    pub(crate) fn enforced(&self) -> bool {
        self.0.enforced
    }

    fn lost_error(&self) -> LeaseLost {
        LeaseLost {
            shard: self.0.shard.clone(),
            why: self.0.why.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    /// Resolves once this worker may no longer act (never, for an unbounded or unenforced
    /// fence): the runner then stops every document in flight.
    pub(crate) async fn lapsed(&self) -> LeaseLost {
        loop {
            let changed = self.0.changed.notified();
            if let Err(lost) = self.check() {
                return lost;
            }
            let until = *self.0.until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(until) if self.0.enforced => {
                    tokio::select! {
                        () = tokio::time::sleep_until(until.into()) => {}
                        () = changed => {}
                    }
                }
                _ => changed.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_good_until_its_last_renewal_plus_the_term_less_the_margin() {
        let term = Duration::from_secs(8);
        let sent = Instant::now();
        let fence = Fence::leased("s", 3, sent + Duration::from_secs(60), true);
        assert!(fence.check().is_ok());
        assert_eq!(fence.generation(), 3);
        // A renewal only ever moves the end later.
        fence.renewed(sent, term);
        fence.renewed(sent - Duration::from_secs(5), term);
        assert_eq!(margin(term), Duration::from_secs(2));
        assert_eq!(
            *fence.0.until.lock().expect("lock"),
            Some(sent + Duration::from_secs(60))
        );
        let lapsed = Fence::leased("s", 1, Instant::now() - Duration::from_millis(1), true);
        let error = lapsed.check().expect_err("lapsed");
        assert!(error.to_string().contains("lapsed"), "{error}");
        // Once lost, always lost.
        lapsed.renewed(Instant::now(), term);
        assert!(lapsed.check().is_err());
    }

    #[test]
    fn an_unenforced_fence_lets_everything_through() {
        let fence = Fence::leased("s", 1, Instant::now() - Duration::from_secs(1), false);
        assert!(fence.check().is_ok());
        assert!(Fence::unbounded("s").check().is_ok());
    }

    #[tokio::test]
    async fn lapsed_resolves_at_the_end_of_the_lease_or_when_it_is_lost() {
        let fence = Fence::leased("s", 1, Instant::now() + Duration::from_millis(50), true);
        let started = Instant::now();
        let lost = tokio::time::timeout(Duration::from_secs(5), fence.lapsed())
            .await
            .expect("resolves");
        assert!(started.elapsed() >= Duration::from_millis(45));
        assert!(lost.why.contains("lapsed"));
        let taken = Fence::leased("s", 1, Instant::now() + Duration::from_secs(60), true);
        let waiting = tokio::spawn({
            let taken = taken.clone();
            async move { taken.lapsed().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        taken.lose("was taken by another worker");
        let lost = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("resolves")
            .expect("joins");
        assert!(lost.why.contains("taken"));
    }
}
