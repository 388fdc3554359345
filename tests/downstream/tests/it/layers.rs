//! Each layer used alone by a crate that depends on it, through public APIs only: a custom
//! token source, a custom retry policy, a document submitted from memory, an event stream
//! dropped half-way. Against the emulator, on real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use extract_api::{
    ApiError, Client, ExtractionOptions, RetryDecision, RetryPolicy, RetryPolicyExt, StandardRetry,
};
use extract_auth::{
    AuthError, CachedTokenSource, ClientAssertion, KeypairSource, Token, TokenSource,
};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};
use extract_poll::{JobEvent, JobHandle, PollPolicy, Poller};
use futures_util::StreamExt;

/// A program's own token source: it wraps the keypair exchange and counts what it hands out.
#[derive(Debug)]
struct Counted {
    inner: KeypairSource,
    handed_out: AtomicU32,
}

#[async_trait]
impl TokenSource for Counted {
    async fn token(&self) -> Result<Token, AuthError> {
        self.handed_out.fetch_add(1, Ordering::SeqCst);
        self.inner.token().await
    }

    fn method(&self) -> &'static str {
        "counted keypair"
    }
}

/// A program's own retry policy: retry every transient failure at once, three times, and
/// remember what it was asked.
#[derive(Debug, Default)]
struct Eager {
    asked: AtomicU32,
}

impl RetryPolicy for Eager {
    fn on_error(&self, attempt: u32, _: Duration, _: &ApiError) -> RetryDecision {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if attempt < 3 {
            RetryDecision::Retry(Duration::ZERO)
        } else {
            RetryDecision::Stop
        }
    }
}

async fn emulator(config: EmulatorConfig) -> (RunningEmulator, Arc<Counted>) {
    let emulator = Emulator::start(config).await.expect("starts");
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(&key, client_id, emulator.token_url());
    let source = Arc::new(Counted {
        inner: KeypairSource::new(http, &emulator.token_url(), assertion).expect("source"),
        handed_out: AtomicU32::new(0),
    });
    (emulator, source)
}

fn pdf() -> Vec<u8> {
    sample_pdf(&[SamplePage {
        heading: "From memory".into(),
        paragraphs: vec!["No temporary file.".into()],
    }])
}

#[tokio::test]
async fn a_custom_token_source_and_an_in_memory_document() {
    let (emulator, source) =
        emulator(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(source.clone())
        .build()
        .expect("client");
    let job: JobHandle = client
        .submit_bytes(pdf(), "memory.pdf", &ExtractionOptions::new().ocr(false))
        .await
        .expect("submits");
    let document = Poller::new(
        client,
        PollPolicy::default().with_deadline(Duration::from_secs(30)),
    )
    .wait(&job)
    .await
    .expect("waits");
    assert_eq!(
        document.content_tree.children[0].content.as_deref(),
        Some("From memory")
    );
    assert!(
        source.handed_out.load(Ordering::SeqCst) >= 2,
        "asked per request"
    );
}

#[tokio::test]
async fn a_custom_retry_policy_decides_and_a_per_call_override_replaces_it() {
    let (emulator, source) =
        emulator(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let eager = Arc::new(Eager::default());
    #[derive(Debug)]
    struct Shared(Arc<Eager>);
    impl RetryPolicy for Shared {
        fn on_error(&self, a: u32, e: Duration, error: &ApiError) -> RetryDecision {
            self.0.on_error(a, e, error)
        }
    }
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(Arc::new(CachedTokenSource::new(source)))
        .retry_policy(Shared(eager.clone()))
        .build()
        .expect("client");
    let id = "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c";
    // A token is fetched and cached; an unknown id is a 404, which no policy is asked about.
    let unknown = client.status(id, None).await.expect_err("404");
    assert_eq!(unknown.status(), Some(404));
    assert_eq!(eager.asked.load(Ordering::SeqCst), 0);

    // Every answer a 500: the policy is asked after each of its three attempts.
    emulator.set_faults("500=1".parse().expect("faults"));
    let polls = |emulator: &RunningEmulator| {
        emulator
            .request_log()
            .iter()
            .filter(|r| r.uri.starts_with("/v3/extractions/"))
            .count()
    };
    let before = polls(&emulator);
    let error = client.status(id, None).await.expect_err("500");
    assert_eq!(error.status(), Some(500));
    assert_eq!(eager.asked.load(Ordering::SeqCst), 3);
    assert_eq!(polls(&emulator) - before, 3);

    // Per call, a stricter policy replaces the client's: the standard one, one attempt.
    let strict = client.with_retry_policy(StandardRetry::default().with_attempt_limit(1));
    let before = polls(&emulator);
    strict.status(id, None).await.expect_err("500");
    assert_eq!(
        eager.asked.load(Ordering::SeqCst),
        3,
        "the override decided"
    );
    assert_eq!(polls(&emulator) - before, 1);
}

#[tokio::test]
async fn an_event_stream_dropped_half_way_stops_polling() {
    let (emulator, source) =
        emulator(EmulatorConfig::default().with_job_duration(Duration::from_secs(30))).await;
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(source)
        .build()
        .expect("client");
    let job: JobHandle = client
        .submit_bytes(pdf(), "memory.pdf", &ExtractionOptions::new())
        .await
        .expect("submits");
    let policy = PollPolicy::default()
        .with_delays(Duration::from_millis(20), 1.0, Duration::from_millis(20))
        .with_floor(Duration::from_millis(10));
    let mut events = Box::pin(Poller::new(client, policy).events(job.clone()));
    let first = events.next().await.expect("an event");
    assert!(
        matches!(first, JobEvent::Polled { polls: 1, .. }),
        "{first:?}"
    );
    drop(events);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(emulator.stats().polls[&job.request_id], 1);
}
