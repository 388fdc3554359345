//! Helpers shared by the emulator tests: an emulator with a registered key, a client with
//! short retries, a fast polling policy, and sample PDFs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use extract_api::{Client, StandardRetry};
use extract_auth::{CachedTokenSource, ClientAssertion, KeypairSource};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};
use extract_poll::PollPolicy;

pub fn key() -> &'static PrivateKey {
    static KEY: std::sync::OnceLock<PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("key"))
}

pub async fn start(config: EmulatorConfig) -> (RunningEmulator, Client) {
    let emulator = Emulator::start(config).await.expect("starts");
    let client_id = emulator
        .register_client(key().public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(key(), client_id, emulator.token_url());
    let tokens = CachedTokenSource::new(
        KeypairSource::new(http, &emulator.token_url(), assertion).expect("source"),
    );
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(Arc::new(tokens))
        .retry_policy(
            StandardRetry::default()
                .with_waits(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
        .expect("client");
    (emulator, client)
}

pub fn fast() -> PollPolicy {
    PollPolicy::default()
        .with_delays(Duration::from_millis(20), 1.5, Duration::from_millis(50))
        .with_floor(Duration::from_millis(10))
        .with_max_retry_after(Duration::from_millis(50))
}

pub fn pdfs(dir: &std::path::Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("doc-{i:03}.pdf"));
            let pdf = sample_pdf(&[SamplePage {
                heading: format!("Document {i}"),
                paragraphs: vec![format!("Body of document {i}.")],
            }]);
            std::fs::write(&path, pdf).expect("writes");
            path
        })
        .collect()
}

/// Submits one sample PDF (written in `dir`) and returns its job.
pub async fn submit_one(client: &Client, dir: &std::path::Path) -> extract_poll::JobHandle {
    let pdf = &pdfs(dir, 1)[0];
    client
        .submit_file(pdf, &extract_api::ExtractionOptions::new())
        .await
        .expect("submits")
}
