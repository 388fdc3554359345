//! A job the emulator finishes in 10 s: how many polls, and how late the client notices, for our
//! poller and for the loop of the service's own docs (poll again at once while pending):
//! `cargo bench -p extract-poll --bench poll`.

mod common;

use std::time::{Duration, Instant};

use extract_api::{ExtractionOptions, Status};
use extract_emulator::{SamplePage, sample_pdf};
use extract_poll::{JobHandle, PollPolicy, Poller};

const JOB: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let (emulator, client) = common::start(JOB).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(
        &pdf,
        sample_pdf(&[SamplePage {
            heading: "Bench".into(),
            paragraphs: vec!["Text.".into()],
        }]),
    )
    .expect("writes");

    // Ours.
    let submitted = Instant::now();
    let job: JobHandle = client
        .submit_file(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    Poller::new(client.clone(), PollPolicy::default())
        .wait(&job)
        .await
        .expect("succeeds");
    let ours_late = submitted.elapsed().saturating_sub(JOB);
    let ours_polls = emulator.stats().polls[&job.request_id];

    // The naive loop.
    let submitted = Instant::now();
    let naive = client
        .submit_file(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    while client
        .status(&naive.request_id, None)
        .await
        .expect("status")
        .status
        != Status::Success
    {}
    let naive_late = submitted.elapsed().saturating_sub(JOB);
    let naive_polls = emulator.stats().polls[&naive.request_id];

    println!("job of {JOB:?} on the emulator (loopback)");
    println!(
        "poller (default policy):       {ours_polls:>6} polls, noticed {:>6.0} ms late",
        ours_late.as_secs_f64() * 1e3
    );
    println!(
        "poll again at once (docs loop): {naive_polls:>6} polls, noticed {:>6.0} ms late",
        naive_late.as_secs_f64() * 1e3
    );
    println!(
        "polls ratio (ours / naive): {:.4}",
        f64::from(ours_polls as u32) / naive_polls as f64
    );
    emulator.shutdown().await;
}
