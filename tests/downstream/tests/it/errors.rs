//! Errors a program acts on without reading their text: each failure has a kind
//! (`ErrorKind`), the same across layers, and the predicates say what to do. And one policy for
//! causes: an error's `Display` never repeats what its `source()` says, so a report that walks
//! the chain (anyhow's `{:#}`, eyre, `extract_api::Chain`) shows each cause once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use extract_api::{ApiError, Chain, Client, ErrorKind, ExtractionOptions, NoRetry, preflight};
use extract_auth::{ClientAssertion, GivenToken, KeypairSource, Secret, TokenSource};
use extract_emulator::{
    Emulator, EmulatorConfig, FaultSpec, RunningEmulator, SamplePage, sample_encrypted_pdf,
};
use extract_keys::{KeySize, PrivateKey};

/// A file of this test's own in the temporary folder.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("downstream-errors-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// A client of the emulator, with a real keypair exchange, that never retries.
async fn client(config: EmulatorConfig) -> (RunningEmulator, Client) {
    client_with_timeout(config, Duration::from_secs(60)).await
}

async fn client_with_timeout(
    config: EmulatorConfig,
    timeout: Duration,
) -> (RunningEmulator, Client) {
    let emulator = Emulator::start(config).await.expect("starts");
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(&key, client_id, emulator.token_url());
    let source: Arc<dyn TokenSource> =
        Arc::new(KeypairSource::new(http, &emulator.token_url(), assertion).expect("source"));
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(source)
        .retry_policy(NoRetry)
        .timeout(timeout)
        .build()
        .expect("client");
    (emulator, client)
}

/// A request id the emulator does not know: a well-formed UUID.
const SOME_ID: &str = "0b6f7a9e-3a52-4c1e-9d0e-2f43c1a5b7d8";

#[tokio::test]
async fn input_files_are_told_apart_by_kind() {
    let (_emulator, client) = client(EmulatorConfig::default()).await;
    let options = ExtractionOptions::new();

    let missing = std::env::temp_dir().join("downstream-errors-there-is-no-such.pdf");
    let error = client
        .submit_file(&missing, &options)
        .await
        .expect_err("no such file");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.path(), Some(missing.as_path()));
    assert!(!error.is_transient() && !error.may_have_created_job());
    assert!(matches!(
        error,
        ApiError::Build {
            kind: ErrorKind::NotFound,
            ..
        }
    ));

    let text = temp_file("notes.pdf", b"just some notes, not a PDF\n");
    let error = client
        .submit_file(&text, &options)
        .await
        .expect_err("not a PDF");
    assert_eq!(error.kind(), ErrorKind::NotPdf);
    assert_eq!(error.path(), Some(text.as_path()));

    let pages = vec![SamplePage {
        heading: "Locked".into(),
        paragraphs: vec!["Only with the password.".into()],
    }];
    let locked = temp_file("locked.pdf", &sample_encrypted_pdf(&pages, "secret"));
    let error = preflight(&locked, None).await.expect_err("encrypted");
    assert_eq!(error.kind(), ErrorKind::Encrypted);
    assert_eq!(error.path(), Some(locked.as_path()));
    let _ = std::fs::remove_file(text);
    let _ = std::fs::remove_file(locked);
}

#[tokio::test]
async fn a_429_is_rate_limited_with_its_retry_after() {
    let faults: FaultSpec = "429=1,retry-after=7".parse().expect("faults");
    let (_emulator, client) = client(EmulatorConfig::default().with_faults(faults)).await;
    let error = client.status(SOME_ID, None).await.expect_err("throttled");
    assert_eq!(error.kind(), ErrorKind::RateLimited, "{}", Chain(&error));
    assert!(error.is_transient());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_refused_token_is_unauthorized() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("starts");
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(Arc::new(GivenToken::new(Secret::new("not-a-token"))))
        .retry_policy(NoRetry)
        .build()
        .expect("client");
    let error = client.status(SOME_ID, None).await.expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Unauthorized, "{}", Chain(&error));
    assert!(!error.may_have_created_job());
}

#[tokio::test]
async fn an_answer_too_slow_is_a_timeout() {
    let faults: FaultSpec = "slow=1,slow-ms=3000".parse().expect("faults");
    let (_emulator, client) = client_with_timeout(
        EmulatorConfig::default().with_faults(faults),
        Duration::from_millis(300),
    )
    .await;
    let error = client.status(SOME_ID, None).await.expect_err("too slow");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{}", Chain(&error));
    assert!(error.is_transient());
}

/// The levels of an error's chain, each one's `Display`.
fn levels(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut levels = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        levels.push(e.to_string());
        source = e.source();
    }
    levels
}

#[tokio::test]
async fn a_nested_error_prints_each_cause_once() {
    // Nothing listens on the token URL: an ApiError wrapping an AuthError wrapping reqwest's
    // error, wrapping the operating system's.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let token_url = format!("http://{}/token", listener.local_addr().expect("addr"));
    drop(listener);
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(&key, "client", token_url.clone());
    let source = KeypairSource::new(http, &token_url, assertion).expect("source");
    let client = Client::builder()
        .base_url("http://127.0.0.1:9/")
        .token_source(Arc::new(source))
        .retry_policy(NoRetry)
        .build()
        .expect("client");
    let error = client.status(SOME_ID, None).await.expect_err("no token");
    assert!(matches!(error, ApiError::Auth(_)), "{error:?}");
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert!(error.is_transient());

    let levels = levels(&error);
    assert!(levels.len() >= 3, "{levels:?}");
    for (i, outer) in levels.iter().enumerate() {
        for inner in &levels[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()) && !inner.contains(outer.as_str()),
                "{outer:?} repeats {inner:?}"
            );
        }
    }
    // Joined as anyhow's `{:#}` joins them: every level, once, in order.
    assert_eq!(Chain(&error).to_string(), levels.join(": "));
    assert!(levels[0].contains(&token_url), "{levels:?}");
}
