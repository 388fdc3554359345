//! 200 documents at concurrency 16 against the emulator, without and with faults (10% 500s,
//! 5% 429s, 2% dropped connections): token exchanges, submissions, outputs written, and the
//! resubmissions reported: `cargo bench -p extract-poll --bench batch`.

mod common;

use std::time::{Duration, Instant};

use extract_batch::{BatchRunner, Manifest};
use extract_emulator::{SamplePage, sample_pdf};
use extract_poll::PollPolicy;

const DOCUMENTS: usize = 200;

#[tokio::main]
async fn main() {
    for faults in ["", "500=0.1,429=0.05,drop=0.02,seed=2026"] {
        let (emulator, client) = common::start(Duration::from_secs(1)).await;
        let inputs = tempfile::tempdir().expect("tempdir");
        let out = tempfile::tempdir().expect("tempdir");
        for i in 0..DOCUMENTS {
            let pdf = sample_pdf(&[SamplePage {
                heading: format!("Document {i}"),
                paragraphs: vec![format!("Body {i}.")],
            }]);
            std::fs::write(inputs.path().join(format!("doc-{i:03}.pdf")), pdf).expect("writes");
        }
        emulator.set_faults(faults.parse().expect("spec"));
        let start = Instant::now();
        let runner = BatchRunner::new(client, out.path())
            .concurrency(16)
            .policy(PollPolicy::default());
        let extract_batch::BatchReport { summary, .. } = runner
            .run(&[inputs.path().to_path_buf()])
            .await
            .expect("runs");
        let elapsed = start.elapsed();
        let stats = emulator.stats();
        let written = (0..DOCUMENTS)
            .filter(|i| out.path().join(format!("doc-{i:03}.json")).exists())
            .count();
        let recorded: usize = Manifest::load(out.path())
            .expect("manifest")
            .documents
            .values()
            .map(|e| e.unknown_outcomes.len())
            .sum();
        println!(
            "faults: {}",
            if faults.is_empty() { "none" } else { faults }
        );
        println!(
            "  {DOCUMENTS} documents, concurrency 16: {:.1} s; token exchanges {}; submissions {}; outputs written {written}/{DOCUMENTS}",
            elapsed.as_secs_f64(),
            stats.token_exchanges,
            stats.submissions
        );
        println!(
            "  succeeded {}; resubmitted after an unknown outcome {} (in the manifest: {recorded}); polls {}; faults injected {:?}",
            summary.succeeded,
            summary.resubmitted_after_unknown_outcome,
            stats.polls.values().sum::<u64>(),
            stats.faults
        );
        emulator.shutdown().await;
    }
}
