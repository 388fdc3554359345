//! A wait's deadline is hard (issues 10 and 11): a poll in flight against a server that never
//! answers is cut at the time left, however long the client's own timeouts and retries are.

use std::sync::Arc;
use std::time::{Duration, Instant};

use extract_api::{Client, RetrievalMode};
use extract_auth::{GivenToken, Secret};
use extract_poll::{JobHandle, PollError, PollPolicy, Poller};

#[tokio::test]
async fn a_poll_in_flight_is_cut_at_the_deadline() {
    let silent = extract_emulator::SilentServer::start()
        .await
        .expect("starts");
    // The client's own limits are long (60 s a request, retries for 2 minutes).
    let client = Client::builder()
        .base_url(silent.url())
        .token_source(Arc::new(GivenToken::new(Secret::new("t"))))
        .build()
        .expect("client");
    let poller = Poller::new(
        client,
        PollPolicy::default().with_deadline(Duration::from_millis(1500)),
    );
    let job = JobHandle::new(
        "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c",
        RetrievalMode::Inline,
    );
    let started = Instant::now();
    let error = poller.wait(&job).await.expect_err("deadline");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "took {took:?}"
    );
    match error {
        PollError::Deadline { elapsed, polls, .. } => {
            assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
            assert_eq!(polls, 1, "one poll, cut short");
        }
        other => panic!("{other}"),
    }
}
