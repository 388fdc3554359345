//! Ends an upload that stops moving, or whose answer never comes.
//!
//! An upload may rightly take many minutes, so its whole-request timeout is long; a server that
//! accepts the connection and then says nothing must not hold it for that long. The request
//! body reports each chunk it hands to the connection; the watchdog fires when no chunk has
//! gone for the stall limit, or, once the last byte is sent, when no answer has come within
//! the response limit.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Instant;

/// How far an upload has gone: when a byte last went out, and whether all have.
#[derive(Debug)]
pub(crate) struct Progress {
    state: Mutex<(Instant, u64)>,
    total: u64,
    /// Wakes the watchdog when the last byte goes, to start the answer's clock.
    finished: tokio::sync::Notify,
}

impl Progress {
    /// A new upload of `total` bytes, starting now.
    pub(crate) fn new(total: u64) -> Arc<Progress> {
        Arc::new(Progress {
            state: Mutex::new((Instant::now(), 0)),
            total,
            finished: tokio::sync::Notify::new(),
        })
    }

    fn sent(&self, bytes: usize) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 = Instant::now();
        state.1 += bytes as u64;
        if state.1 >= self.total {
            self.finished.notify_one();
        }
    }

    fn snapshot(&self) -> (Instant, bool) {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (state.0, state.1 >= self.total)
    }

    /// Wraps a body stream so that every chunk it yields counts as sent.
    pub(crate) fn track<S, E>(self: &Arc<Self>, inner: S) -> Tracked<S>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        Tracked {
            inner,
            progress: self.clone(),
        }
    }

    /// Resolves when the upload has stalled for `stall`, or its answer has not come within
    /// `response` of the last byte; says which, with the time actually waited.
    pub(crate) async fn expired(&self, stall: Duration, response: Duration) -> String {
        loop {
            let (last, done) = self.snapshot();
            let limit = if done { response } else { stall };
            let Some(deadline) = last.checked_add(limit) else {
                // A limit past any clock (`Duration::MAX`) never expires; only the last byte
                // going out starts the other one.
                if done {
                    return std::future::pending().await;
                }
                self.finished.notified().await;
                continue;
            };
            if Instant::now() >= deadline {
                let waited = last.elapsed();
                return if done {
                    format!(
                        "no answer came within {:.1}s of sending the whole document",
                        waited.as_secs_f64()
                    )
                } else {
                    format!(
                        "the upload stalled: nothing could be sent for {:.1}s",
                        waited.as_secs_f64()
                    )
                };
            }
            if done {
                tokio::time::sleep_until(deadline).await;
            } else {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = self.finished.notified() => {}
                }
            }
        }
    }
}

/// A body stream that reports its progress.
pub(crate) struct Tracked<S> {
    inner: S,
    progress: Arc<Progress>,
}

impl<S, E> Stream for Tracked<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.progress.sent(chunk.len());
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_upload_and_a_missing_answer_each_end() {
        let progress = Progress::new(10);
        let start = Instant::now();
        let why = progress
            .expired(Duration::from_secs(5), Duration::from_secs(60))
            .await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(why.contains("stalled"), "{why}");

        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"67890")),
        ];
        let mut body = progress.track(futures_util::stream::iter(chunks));
        while body.next().await.is_some() {}
        let sent = Instant::now();
        let why = progress
            .expired(Duration::from_secs(5), Duration::from_secs(60))
            .await;
        assert_eq!(sent.elapsed(), Duration::from_secs(60));
        assert!(why.contains("no answer came within 60.0s"), "{why}");
    }

    #[tokio::test(start_paused = true)]
    async fn limits_past_any_clock_never_expire_and_never_panic() {
        let progress = Progress::new(5);
        let endless = progress.expired(Duration::MAX, Duration::MAX);
        let waited = tokio::time::timeout(Duration::from_secs(3600 * 24 * 365), endless).await;
        assert!(waited.is_err(), "no stall limit");
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"12345"))];
        let mut body = progress.track(futures_util::stream::iter(chunks));
        while body.next().await.is_some() {}
        let endless = progress.expired(Duration::MAX, Duration::MAX);
        let waited = tokio::time::timeout(Duration::from_secs(3600 * 24 * 365), endless).await;
        assert!(waited.is_err(), "no answer limit");
        let why = progress
            .expired(Duration::MAX, Duration::from_secs(1))
            .await;
        assert!(why.contains("no answer came"), "{why}");
    }
}
