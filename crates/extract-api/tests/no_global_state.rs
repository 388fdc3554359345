//! No library call installs a process-wide default (issue 11): a whole flow (a signed client
//! assertion, a token exchange, a submission, a status) leaves rustls' and jsonwebtoken's
//! process-wide crypto providers unset. Its own test binary, so nothing else in the process
//! installs one first.

use std::sync::Arc;

use extract_api::{Client, ExtractionOptions};
use extract_auth::{CachedTokenSource, ClientAssertion, KeypairSource};
use extract_emulator::{Emulator, EmulatorConfig, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};

#[tokio::test]
async fn a_whole_flow_installs_no_process_wide_provider() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("starts");
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(&key, client_id, emulator.token_url());
    assert_eq!(
        assertion.sign().expect("signs").expose().split('.').count(),
        3
    );
    let tokens = CachedTokenSource::new(
        KeypairSource::new(http.clone(), &emulator.token_url(), assertion).expect("source"),
    );
    let client = Client::builder()
        .base_url(emulator.base_url())
        .http_client(http)
        .token_source(Arc::new(tokens))
        .build()
        .expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(
        &pdf,
        sample_pdf(&[SamplePage {
            heading: "Hello".into(),
            paragraphs: vec!["World.".into()],
        }]),
    )
    .expect("writes");
    let submission = client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    client
        .status(&submission.request_id, None)
        .await
        .expect("status");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "no rustls provider was installed"
    );
    assert!(
        jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none(),
        "no jsonwebtoken provider was installed"
    );
}
