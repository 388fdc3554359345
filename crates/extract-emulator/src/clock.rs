//! The emulator's clock.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Wall-clock seconds derived from tokio's clock: the emulator reads the time only here, so a
/// test that pauses and advances tokio's clock moves token expiry, URL expiry and job progress
/// together, without sleeping.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    start_unix: u64,
    start: Instant,
}

impl Clock {
    /// A clock `ahead` seconds ahead of this machine's (to emulate a server whose clock is off).
    pub(crate) fn new(ahead: u64) -> Self {
        let start_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + ahead;
        Clock {
            start_unix,
            start: Instant::now(),
        }
    }

    /// Seconds since the Unix epoch, as the emulator sees them.
    pub(crate) fn now_unix(&self) -> u64 {
        self.start_unix + self.start.elapsed().as_secs()
    }
}
