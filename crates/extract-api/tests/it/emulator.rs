//! Every endpoint against the emulator over real sockets, both retrieval modes, the pre-signed
//! upload, and retries under injected faults: never a duplicate job.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use extract_api::{
    ApiError, Client, ExtractionOptions, OutputFormat, RetrievalMode, RetryPolicy, StandardRetry,
    Status,
};
use extract_auth::{
    CachedTokenSource, ClientAssertion, KeypairSource, MockTokenSource, Secret, Token, TokenSource,
};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};

fn key() -> &'static PrivateKey {
    static KEY: std::sync::OnceLock<PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("key"))
}

struct Env {
    emulator: RunningEmulator,
    client: Client,
    dir: tempfile::TempDir,
}

async fn env_with(config: EmulatorConfig, retry: impl RetryPolicy + 'static) -> Env {
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
        .retry_policy(retry)
        .direct_limit(4096)
        .build()
        .expect("client");
    Env {
        emulator,
        client,
        dir: tempfile::tempdir().expect("tempdir"),
    }
}

async fn env() -> Env {
    env_with(instant(), StandardRetry::default()).await
}

fn instant() -> EmulatorConfig {
    EmulatorConfig::default().with_job_duration(Duration::ZERO)
}

impl Env {
    /// A PDF of `pages` pages in the temp dir, padded with a comment to `at_least` bytes.
    fn pdf(&self, name: &str, pages: usize, at_least: usize) -> PathBuf {
        let mut bytes = sample_pdf(
            &(1..=pages)
                .map(|n| SamplePage {
                    heading: format!("Chapter {n}"),
                    paragraphs: vec![format!("Words of page {n}.")],
                })
                .collect::<Vec<_>>(),
        );
        if bytes.len() < at_least {
            // PDF comments after %%EOF are ignored by readers.
            bytes.extend(std::iter::repeat_n(b'%', at_least - bytes.len()));
        }
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("writes");
        path
    }
}

fn texts(document: &extract_api::OutputDocument) -> Vec<String> {
    document.nodes().filter_map(|n| n.content.clone()).collect()
}

#[tokio::test]
async fn inline_mode_submit_then_status_with_output() {
    let env = env().await;
    let pdf = env.pdf("small.pdf", 2, 0);
    let submission = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    assert_eq!(submission.mode, RetrievalMode::Inline);
    let status = env
        .client
        .status(&submission.request_id, None)
        .await
        .expect("status");
    assert_eq!(status.status, Status::Success);
    let output = status.output.expect("inline output");
    assert_eq!(
        texts(&output),
        [
            "Chapter 1",
            "Words of page 1.",
            "Chapter 2",
            "Words of page 2."
        ]
    );
    let plain = env
        .client
        .status(
            &submission.request_id,
            Some(OutputFormat::StructuredDocument),
        )
        .await
        .expect("status");
    assert!(
        plain.output.expect("output").content_tree.children[0]
            .locations
            .is_none(),
        "no locations key"
    );
    assert_eq!(env.emulator.stats().submissions, 1);
}

#[tokio::test]
async fn presigned_mode_by_output_format_then_download() {
    let env = env().await;
    let pdf = env.pdf("small.pdf", 1, 0);
    let options =
        ExtractionOptions::new().output_format(OutputFormat::StructuredDocumentWithLocations);
    let submission = env.client.submit(&pdf, &options).await.expect("submits");
    assert_eq!(submission.mode, RetrievalMode::Presigned);
    let status = env
        .client
        .download_url(&submission.request_id)
        .await
        .expect("status");
    assert_eq!(status.status, Status::Success);
    let url = status.output_url.expect("output url");
    let document = env.client.download(&url).await.expect("downloads");
    assert_eq!(texts(&document), ["Chapter 1", "Words of page 1."]);
    let bytes = env.client.download_bytes(&url).await.expect("downloads");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("json"),
        serde_json::to_value(&document).expect("json")
    );
}

#[tokio::test]
async fn large_files_go_through_the_presigned_upload() {
    let env = env().await;
    let pdf = env.pdf("large.pdf", 3, 10_000); // over this client's 4 KiB direct limit
    let submission = env
        .client
        .submit_file(&pdf, &ExtractionOptions::new().pages("2-3"))
        .await
        .expect("submits");
    assert_eq!(submission.mode, RetrievalMode::Presigned);
    let status = env
        .client
        .download_url(&submission.request_id)
        .await
        .expect("status");
    assert_eq!(status.status, Status::Success, "{status:?}");
    let document = env
        .client
        .download(&status.output_url.expect("url"))
        .await
        .expect("downloads");
    assert_eq!(
        texts(&document),
        [
            "Chapter 2",
            "Words of page 2.",
            "Chapter 3",
            "Words of page 3."
        ]
    );
    let stats = env.emulator.stats();
    assert_eq!(
        (
            stats.submissions,
            stats.upload_urls,
            stats.uploads,
            stats.upload_completions
        ),
        (0, 1, 1, 1)
    );

    // Small files go directly.
    let small = env.pdf("small.pdf", 1, 0);
    assert_eq!(
        env.client
            .submit_file(&small, &ExtractionOptions::new())
            .await
            .expect("submits")
            .mode,
        RetrievalMode::Inline
    );
    assert_eq!(env.emulator.stats().submissions, 1);
}

#[tokio::test]
async fn the_step_by_step_presigned_endpoints() {
    let env = env().await;
    let pdf = env.pdf("doc.pdf", 1, 0);
    let created = env
        .client
        .create_upload_url(&ExtractionOptions::new())
        .await
        .expect("upload url");
    let waiting = env
        .client
        .download_url(&created.request_id)
        .await
        .expect("status");
    assert_eq!(waiting.status, Status::AwaitingDocumentUpload);
    let early = env
        .client
        .complete_upload(&created.request_id)
        .await
        .expect_err("not uploaded yet");
    assert_eq!(early.status(), Some(405), "{early}");
    env.client
        .upload(&created.upload_spec, &pdf)
        .await
        .expect("uploads");
    let uploaded = env
        .client
        .download_url(&created.request_id)
        .await
        .expect("status");
    assert_eq!(
        uploaded.status,
        Status::AwaitingDocumentUploadCompleteNotification
    );
    env.client
        .complete_upload(&created.request_id)
        .await
        .expect("completes");
    assert_eq!(
        env.client
            .download_url(&created.request_id)
            .await
            .expect("status")
            .status,
        Status::Success
    );
}

#[tokio::test]
async fn service_refusals_are_typed_and_name_the_field() {
    let env = env().await;
    let pdf = env.pdf("doc.pdf", 2, 0);
    let error = env
        .client
        .submit(&pdf, &ExtractionOptions::new().pages("5"))
        .await
        .expect_err("page past the end");
    match &error {
        ApiError::Service {
            status: 400,
            field: Some(field),
            ..
        } => {
            assert_eq!(field, "pages");
            assert!(
                error.message().unwrap_or_default().contains("page 5"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("about field `pages`"), "{error}");

    let inline = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    let wrong_mode = env
        .client
        .download_url(&inline.request_id)
        .await
        .expect_err("wrong mode");
    assert!(
        matches!(&wrong_mode, ApiError::Service { status: 400, request_id: Some(id), .. } if *id == inline.request_id),
        "{wrong_mode}"
    );
    let unknown = env
        .client
        .status(&uuid::Uuid::new_v4().to_string(), None)
        .await
        .expect_err("unknown");
    assert_eq!(unknown.status(), Some(404));
    let bad_id = env
        .client
        .status("../../oauth2/refresh", None)
        .await
        .expect_err("not an id");
    assert_eq!(
        bad_id.kind(),
        extract_api::ErrorKind::InvalidInput,
        "{bad_id}"
    );
}

#[tokio::test]
async fn bad_files_are_refused_before_anything_is_sent() {
    let env = env().await;
    let text = env.dir.path().join("notes.txt");
    std::fs::write(&text, "not a pdf").expect("writes");
    for (path, kind) in [
        (text, extract_api::ErrorKind::NotPdf),
        (
            env.dir.path().join("missing.pdf"),
            extract_api::ErrorKind::NotFound,
        ),
    ] {
        let error = env
            .client
            .submit_file(&path, &ExtractionOptions::new())
            .await
            .expect_err("refused");
        assert!(matches!(error, ApiError::Build { .. }), "{error}");
        assert_eq!(error.kind(), kind, "{error}");
    }
    assert!(
        env.emulator.request_log().is_empty(),
        "nothing was sent, not even a token request"
    );
}

/// Submits once to warm up (a token and one job), then again under `faults`; that error.
async fn second_submission_under(faults: &str) -> (Env, ApiError) {
    let env = env().await;
    let pdf = env.pdf("doc.pdf", 1, 0);
    env.client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("warm up: a token and one job");
    env.emulator.set_faults(faults.parse().expect("spec"));
    let error = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect_err(faults);
    (env, error)
}

#[tokio::test]
async fn a_500_after_a_submission_is_an_unknown_outcome_and_never_a_second_job() {
    let (env, error) = second_submission_under("500=1").await;
    assert!(
        matches!(
            error,
            ApiError::OutcomeUnknown {
                status: Some(500),
                ..
            }
        ),
        "{error}"
    );
    assert!(!error.is_transient());
    assert_eq!(
        env.emulator.stats().submissions,
        2,
        "the emulator made the job; the client did not retry"
    );
}

#[tokio::test]
async fn a_dropped_connection_after_a_submission_is_an_unknown_outcome() {
    let (env, error) = second_submission_under("drop=1").await;
    assert!(
        matches!(error, ApiError::OutcomeUnknown { status: None, .. }),
        "{error}"
    );
    assert_eq!(env.emulator.stats().submissions, 2);
    let posts = env
        .emulator
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.uri == "/v3/extractions")
        .count();
    assert_eq!(posts, 2, "no second POST for the dropped one");
}

#[tokio::test]
async fn a_truncated_answer_to_a_submission_is_an_unknown_outcome() {
    let (env, error) = second_submission_under("truncate=1").await;
    assert!(
        matches!(
            error,
            ApiError::OutcomeUnknown {
                status: Some(200),
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(env.emulator.stats().submissions, 2);
}

/// Retries as the default policy makes them, with waits short enough for real time.
fn short_retries() -> StandardRetry {
    StandardRetry::default().with_waits(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test]
async fn a_throttled_submission_is_retried_and_creates_one_job() {
    let env = env_with(instant(), short_retries()).await;
    let pdf = env.pdf("doc.pdf", 1, 0);
    env.client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("warm up");
    // Every answer is 429 until the faults are lifted.
    env.emulator
        .set_faults("429=1,retry-after=2".parse().expect("spec"));
    let error = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect_err("throttled throughout");
    assert_eq!(error.status(), Some(429));
    let posts = env
        .emulator
        .request_log()
        .iter()
        .filter(|r| r.uri == "/v3/extractions")
        .count();
    assert_eq!(posts, 1 + 5, "429 proves nothing was taken: five attempts");
    assert_eq!(env.emulator.stats().submissions, 1);

    env.emulator
        .set_faults("429=0.5,seed=4".parse().expect("spec"));
    env.client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("gets through");
    assert_eq!(env.emulator.stats().submissions, 2, "exactly one more job");
}

#[tokio::test]
async fn reads_are_retried_through_500s_drops_and_garbled_bodies() {
    let env = env_with(instant(), short_retries()).await;
    let pdf = env.pdf("doc.pdf", 1, 0);
    let submission = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    env.emulator.set_faults(
        "500=0.1,drop=0.1,truncate=0.1,seed=5"
            .parse()
            .expect("spec"),
    );
    for _ in 0..30 {
        let status = env
            .client
            .status(&submission.request_id, None)
            .await
            .expect("a status despite the faults");
        assert_eq!(status.status, Status::Success);
    }
    // The draws are seeded, so this run always meets each kind of fault.
    let faults = env.emulator.stats().faults;
    for kind in ["500", "drop", "truncate"] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) >= 1,
            "{kind} was injected: {faults:?}"
        );
    }
}

#[tokio::test]
async fn no_connection_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("addr")
        .port();
    let mut tokens = MockTokenSource::new();
    tokens
        .expect_token()
        .returning(|| Ok(Token::new(Secret::new("t"), None)));
    tokens.expect_method().return_const("mock");
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .token_source(Arc::new(tokens))
        .retry_policy(
            StandardRetry::default().with_waits(Duration::from_millis(1), Duration::from_secs(20)),
        )
        .build()
        .expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(&pdf, sample_pdf(&[])).expect("writes");
    let error = client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(error, ApiError::Connect { .. }),
        "a connection error, safe to retry: {error}"
    );
}

#[tokio::test]
async fn a_401_renews_the_token_once() {
    let env = env().await;
    let real = {
        let http = extract_auth::http::client_builder().build().expect("http");
        let client_id = env.emulator.client_ids()[0].clone();
        let assertion = ClientAssertion::new(key(), client_id, env.emulator.token_url());
        KeypairSource::new(http, &env.emulator.token_url(), assertion)
            .expect("source")
            .token()
            .await
            .expect("token")
    };
    let invalidations = Arc::new(AtomicU32::new(0));
    let seen = invalidations.clone();
    let mut tokens = MockTokenSource::new();
    tokens.expect_method().return_const("mock");
    tokens.expect_refused().returning(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let counter = invalidations.clone();
    tokens.expect_token().returning(move || {
        // A stale token until the client invalidates it, then a good one.
        let secret = if counter.load(Ordering::SeqCst) == 0 {
            Secret::new("stale")
        } else {
            real.secret().clone()
        };
        Ok(Token::new(secret, None))
    });
    let client = Client::builder()
        .base_url(env.emulator.base_url())
        .token_source(Arc::new(tokens))
        .build()
        .expect("client");
    let pdf = env.pdf("doc.pdf", 1, 0);
    client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("succeeds after renewing");
    assert_eq!(invalidations.load(Ordering::SeqCst), 1);
    assert_eq!(env.emulator.stats().submissions, 1);
}

/// Tokens that live one use each, polled by 8 callers at once: most polls are refused, often
/// several times in a row (another caller used the new token first), and every one of them
/// gets its answer in the end. Refusals of one token cost one exchange, not one each.
#[tokio::test]
async fn polls_refused_again_and_again_for_their_token_all_get_their_answer() {
    let env = env_with(
        instant(),
        StandardRetry::default().with_waits(Duration::from_millis(5), Duration::from_millis(50)),
    )
    .await;
    let pdf = env.pdf("doc.pdf", 1, 0);
    let submission = env
        .client
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    env.emulator
        .set_faults("revoke-after=1".parse().expect("spec"));
    let polls: Vec<_> = (0..8)
        .map(|_| {
            let (client, id) = (env.client.clone(), submission.request_id.clone());
            tokio::spawn(async move { client.status(&id, None).await })
        })
        .collect();
    for poll in polls {
        let status = poll.await.expect("joins").expect("answered in the end");
        assert_eq!(status.status, Status::Success);
    }
    let stats = env.emulator.stats();
    let refused = stats.faults.get("revoke").copied().unwrap_or(0);
    assert!(refused >= 1, "{stats:?}");
    assert!(
        stats.token_exchanges <= 1 + 8 + refused,
        "{} exchanges for {refused} refusals",
        stats.token_exchanges
    );
}

#[tokio::test]
async fn a_token_that_stays_refused_is_one_401_not_a_loop() {
    let env = env().await;
    let mut tokens = MockTokenSource::new();
    tokens.expect_method().return_const("mock");
    tokens.expect_refused().times(1).return_const(());
    tokens
        .expect_token()
        .returning(|| Ok(Token::new(Secret::new("revoked"), None)));
    let client = Client::builder()
        .base_url(env.emulator.base_url())
        .token_source(Arc::new(tokens))
        .build()
        .expect("client");
    let error = client
        .status(&uuid::Uuid::new_v4().to_string(), None)
        .await
        .expect_err("refused");
    assert_eq!(error.status(), Some(401));
    assert_eq!(
        env.emulator.stats().unauthorized,
        1,
        "the source gave the refused token again: it is not sent twice"
    );
}

#[tokio::test]
async fn documents_in_memory_are_submitted_without_a_file() {
    let env = env().await;
    let small = std::fs::read(env.pdf("small.pdf", 1, 0)).expect("reads");
    let large = std::fs::read(env.pdf("large.pdf", 2, 10_000)).expect("reads");
    assert!(
        small.len() <= 4096 && large.len() > 4096,
        "the builder's direct limit is 4096"
    );
    for (bytes, mode, uploads) in [
        (small, RetrievalMode::Inline, 0),
        (large, RetrievalMode::Presigned, 1),
    ] {
        let submission = env
            .client
            .submit_bytes(bytes, "in-memory.pdf", &ExtractionOptions::new())
            .await
            .expect("submits");
        assert_eq!(submission.mode, mode);
        assert_eq!(env.emulator.stats().uploads, uploads);
    }
    let refused = env
        .client
        .submit_bytes(&b"not a pdf"[..], "notes.txt", &ExtractionOptions::new())
        .await
        .expect_err("refused before sending");
    assert!(
        refused.to_string().contains("notes.txt: not a PDF"),
        "{refused}"
    );
    assert_eq!(env.emulator.stats().submissions, 1);
}

#[tokio::test]
async fn a_stream_is_submitted_once_without_a_copy() {
    let env = env().await;
    let bytes = std::fs::read(env.pdf("streamed.pdf", 1, 0)).expect("reads");
    let len = bytes.len() as u64;
    let submission = env
        .client
        .submit_reader(
            std::io::Cursor::new(bytes),
            len,
            "streamed.pdf",
            &ExtractionOptions::new(),
        )
        .await
        .expect("submits");
    let status = env
        .client
        .status(&submission.request_id, None)
        .await
        .expect("status");
    assert_eq!(status.status, Status::Success);
    assert_eq!(env.emulator.stats().submissions, 1);
    let empty = env
        .client
        .submit_reader(
            std::io::Cursor::new(Vec::new()),
            0,
            "empty.pdf",
            &ExtractionOptions::new(),
        )
        .await
        .expect_err("refused");
    assert!(empty.to_string().contains("empty"), "{empty}");
}
