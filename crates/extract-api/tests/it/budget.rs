//! The rate budget over real sockets: clients that share nothing, each with its own budget,
//! against an emulator that answers 429 beyond its limit, settle near the limit with few 429s;
//! the same clients without budgets flood it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use extract_api::{Client, ExtractionOptions, NoRetry, RateBudget};
use extract_auth::{CachedTokenSource, ClientAssertion, KeypairSource};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};

const LIMIT: f64 = 10.0;

fn client(emulator: &RunningEmulator, key: &PrivateKey, budget: Option<Arc<RateBudget>>) -> Client {
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(key, client_id, emulator.token_url());
    let tokens = CachedTokenSource::new(
        KeypairSource::new(http, &emulator.token_url(), assertion).expect("source"),
    );
    let mut builder = Client::builder()
        .base_url(emulator.base_url())
        .token_source(Arc::new(tokens))
        // Each 429 is seen by the test, not hidden in retries.
        .retry_policy(NoRetry);
    if let Some(budget) = budget {
        builder = builder.rate_budget(budget);
    }
    builder.build().expect("client")
}

/// Two "workers" of eight pollers each poll `id` until `end`.
async fn hammer(clients: &[Client], id: &str, end: Instant) {
    let mut tasks = Vec::new();
    for client in clients {
        for _ in 0..8 {
            let (client, id) = (client.clone(), id.to_string());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < end {
                    let _ = client.status(&id, None).await;
                }
            }));
        }
    }
    for task in tasks {
        task.await.expect("joins");
    }
}

/// (answered, 429) since `before`.
fn since(emulator: &RunningEmulator, before: (u64, u64)) -> (u64, u64) {
    let stats = emulator.stats();
    (stats.api_requests - before.0, stats.rate_limited - before.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_with_budgets_settle_under_the_limit() {
    let emulator = Emulator::start(
        EmulatorConfig::default()
            .with_job_duration(Duration::from_secs(600))
            .with_rate_limit(LIMIT),
    )
    .await
    .expect("starts");
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(
        &pdf,
        sample_pdf(&[SamplePage {
            heading: "A".into(),
            paragraphs: vec![],
        }]),
    )
    .expect("writes");
    let id = client(&emulator, &key, None)
        .submit_file(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits")
        .request_id;

    // Without budgets: sixteen pollers flood a limit of ten a second.
    let flood = [client(&emulator, &key, None), client(&emulator, &key, None)];
    let before = since(&emulator, (0, 0));
    hammer(&flood, &id, Instant::now() + Duration::from_secs(2)).await;
    let (ok, limited) = since(&emulator, before);
    assert!(
        limited > ok,
        "without budgets most requests are refused: {ok} answered, {limited} refused"
    );

    // With a budget each (sharing nothing): past the first 3 s, few 429s and most of the limit used.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let workers = [
        client(
            &emulator,
            &key,
            Some(Arc::new(RateBudget::new(f64::INFINITY))),
        ),
        client(
            &emulator,
            &key,
            Some(Arc::new(RateBudget::new(f64::INFINITY))),
        ),
    ];
    let start = Instant::now();
    let end = start + Duration::from_secs(9);
    let warm = tokio::spawn({
        let workers = workers.clone();
        let id = id.clone();
        async move { hammer(&workers, &id, end).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = since(&emulator, (0, 0));
    let measured = Instant::now();
    warm.await.expect("joins");
    let (ok, limited) = since(&emulator, before);
    let seconds = measured.elapsed().as_secs_f64();
    let share = limited as f64 / (ok + limited).max(1) as f64;
    let used = ok as f64 / seconds / LIMIT;
    eprintln!(
        "with budgets: {ok} answered, {limited} refused in {seconds:.1}s: {:.1}% 429, {:.0}% of the limit",
        share * 100.0,
        used * 100.0
    );
    assert!(
        share < 0.15,
        "{ok} answered, {limited} refused in {seconds:.1}s"
    );
    assert!(
        used > 0.6,
        "{ok} answered in {seconds:.1}s: {:.0}% of the limit",
        used * 100.0
    );
}
