//! The poller against the emulator over real sockets.

use std::time::Duration;

use extract_emulator::EmulatorConfig;
use extract_poll::{JobHandle, Poller};

use crate::common::{fast, start, submit_one};

#[tokio::test]
async fn a_job_is_resumed_from_its_request_id_alone() {
    let (emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_millis(500))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let job = submit_one(&client, dir.path()).await;
    // Another process: it knows only the saved handle.
    let saved = serde_json::to_string(&job).expect("serializes");
    let resumed: JobHandle = serde_json::from_str(&saved).expect("deserializes");
    let document = Poller::new(client, fast())
        .wait(&resumed)
        .await
        .expect("waits");
    assert_eq!(
        document.content_tree.children[0].content.as_deref(),
        Some("Document 0")
    );
    // The policy's poll counts are a paused-clock unit test of the poller; here: it polled
    // the pending job, then found it done.
    let polls = emulator.stats().polls[&job.request_id];
    assert!(polls >= 2, "{polls} polls");
}

#[tokio::test]
async fn dropping_the_event_stream_stops_all_polling() {
    use futures_util::StreamExt;
    let (emulator, client) =
        start(EmulatorConfig::default().with_job_duration(Duration::from_secs(30))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let job = submit_one(&client, dir.path()).await;
    let poller = Poller::new(client, fast());
    let mut events = Box::pin(poller.events(job.clone()));
    for _ in 0..3 {
        let event = events.next().await.expect("an event");
        assert!(
            matches!(event, extract_poll::JobEvent::Polled { .. }),
            "{event:?}"
        );
    }
    let polled = emulator.stats().polls[&job.request_id];
    assert_eq!(polled, 3);
    // Not read: nothing is polled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        emulator.stats().polls[&job.request_id],
        3,
        "a stream not read polls nothing"
    );
    drop(events);
    // Ten times the longest poll interval: no poll follows.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        emulator.stats().polls[&job.request_id],
        3,
        "no poll after the drop"
    );
}
