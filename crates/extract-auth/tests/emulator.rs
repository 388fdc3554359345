//! Every token flow against the emulator, over real sockets; every rejection as a typed error;
//! and a grep of everything the tests provoke (errors, `Debug`, log lines) for secrets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use extract_auth::{
    AuthConfig, AuthError, CachedTokenSource, ClientAssertion, GivenToken, KeypairSource,
    RefreshTokenSource, Secret, TokenSource, http,
};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use extract_keys::{KeySize, PrivateKey};

/// A global subscriber that wants every event, set before any test here logs; each test calls
/// this first. tracing caches, per log statement, whether any subscriber wants it. A statement
/// first reached on one test's thread, with no subscriber there, while another test installs
/// its capturing subscriber (`set_default`), could be cached as wanted by nobody, and the
/// capturing test then saw no log at all: 3 runs in 30 at six test threads. With a subscriber
/// that wants everything always present, no statement is cached as unwanted.
fn every_event_is_wanted() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry())
            .expect("the first global subscriber of this test binary");
    });
}

fn key() -> &'static PrivateKey {
    static KEY: std::sync::OnceLock<PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("key"))
}

fn client() -> reqwest::Client {
    http::client_builder().build().expect("client")
}

async fn emulator() -> (RunningEmulator, String) {
    emulator_with(EmulatorConfig::default()).await
}

async fn emulator_with(config: EmulatorConfig) -> (RunningEmulator, String) {
    let emulator = Emulator::start(config).await.expect("starts");
    let client_id = emulator
        .register_client(key().public_key())
        .expect("registers");
    (emulator, client_id)
}

fn keypair(emulator: &RunningEmulator, client_id: &str, key: &PrivateKey) -> KeypairSource {
    let assertion = ClientAssertion::new(key, client_id, emulator.token_url());
    KeypairSource::new(client(), &emulator.token_url(), assertion).expect("source")
}

/// 404 for a token the API accepts, 401 for one it refuses (service.md §1.3).
async fn probe(emulator: &RunningEmulator, token: &Secret) -> u16 {
    client()
        .get(format!(
            "{}/v3/extractions/{}",
            emulator.base_url(),
            uuid::Uuid::new_v4()
        ))
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn keypair_flow_gets_a_token_the_api_accepts_and_caches_it() {
    every_event_is_wanted();
    let (emulator, client_id) = emulator().await;
    let source = CachedTokenSource::new(keypair(&emulator, &client_id, key()));
    let token = source.token().await.expect("token");
    assert_eq!(probe(&emulator, token.secret()).await, 404);
    let remaining = token.remaining().expect("expiry known");
    assert!(
        remaining > Duration::from_secs(3500) && remaining <= Duration::from_secs(3600),
        "{remaining:?}"
    );
    for _ in 0..10 {
        assert_eq!(source.token().await.expect("token"), token);
    }
    assert_eq!(emulator.stats().token_exchanges, 1);
    assert_eq!(source.method(), "keypair");
}

#[tokio::test]
async fn several_scopes_are_sent_space_joined() {
    every_event_is_wanted();
    let (emulator, client_id) = emulator().await;
    let source =
        keypair(&emulator, &client_id, key()).with_scopes(["openid", "kensho:app:extract"]);
    assert!(source.token().await.is_ok());
}

#[tokio::test]
async fn refresh_token_flow_and_its_refusal() {
    every_event_is_wanted();
    let (emulator, _) = emulator().await;
    emulator.add_refresh_token("rt-good").expect("adds");
    let good = RefreshTokenSource::new(client(), emulator.base_url(), Secret::new("rt-good"))
        .expect("source");
    let token = good.token().await.expect("token");
    assert_eq!(probe(&emulator, token.secret()).await, 404);
    assert!(token.remaining().is_some());

    let bad = RefreshTokenSource::new(client(), emulator.base_url(), Secret::new("rt-bad"))
        .expect("source");
    let error = bad.token().await.expect_err("refused");
    assert!(
        matches!(&error, AuthError::OAuth { status: 401, error, .. } if error == "invalid_grant"),
        "{error}"
    );
    assert!(!error.to_string().contains("rt-bad"));
}

#[tokio::test]
async fn rejections_are_typed_errors_with_oauths_words() {
    every_event_is_wanted();
    let (emulator, client_id) = emulator().await;
    let unknown = keypair(&emulator, "0oaNOBODY", key())
        .token()
        .await
        .expect_err("unknown client");
    assert!(
        matches!(&unknown, AuthError::OAuth { status: 401, error, description, .. } if error == "invalid_client" && description.contains("not registered")),
        "{unknown}"
    );
    let other_key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let bad_key = keypair(&emulator, &client_id, &other_key)
        .token()
        .await
        .expect_err("bad key");
    assert!(
        matches!(&bad_key, AuthError::OAuth { error, description, .. } if error == "invalid_client" && description.contains("signature")),
        "{bad_key}"
    );
    assert!(!unknown.is_transient() && !bad_key.is_transient());

    let wrong_scope = keypair(&emulator, &client_id, key())
        .with_scopes(["kensho:app:scribe"])
        .token()
        .await
        .expect_err("scope");
    assert!(
        matches!(&wrong_scope, AuthError::OAuth { status: 400, error, .. } if error == "invalid_scope"),
        "{wrong_scope}"
    );
}

#[tokio::test]
async fn clock_skew_is_a_clear_error() {
    every_event_is_wanted();
    // A server whose clock is two hours ahead: our assertions look expired to it.
    let (emulator, client_id) =
        emulator_with(EmulatorConfig::default().with_clock_ahead(Duration::from_secs(7200))).await;
    let error = keypair(&emulator, &client_id, key())
        .token()
        .await
        .expect_err("skewed");
    assert!(
        matches!(&error, AuthError::OAuth { error, description, .. } if error == "invalid_client" && description.contains("expired")),
        "{error}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_by_the_cache() {
    every_event_is_wanted();
    let (emulator, client_id) = emulator().await;
    emulator.set_faults("500=0.6,seed=11".parse().expect("spec"));
    let source = CachedTokenSource::new(keypair(&emulator, &client_id, key()));
    let token = source.token().await.expect("a token despite the 500s");
    emulator.set_faults(Default::default());
    assert_eq!(probe(&emulator, token.secret()).await, 404);
    assert!(
        emulator.stats().faults.get("500").copied().unwrap_or(0) >= 1,
        "{:?}",
        emulator.stats()
    );
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    every_event_is_wanted();
    let assertion = ClientAssertion::new(key(), "c", "http://kensho.example/token");
    let error = KeypairSource::new(client(), "http://kensho.example/token", assertion)
        .expect_err("refused");
    assert!(matches!(error, AuthError::InsecureUrl { .. }), "{error}");
    let error = RefreshTokenSource::new(client(), "http://extract.example", Secret::new("t"))
        .expect_err("refused");
    assert!(matches!(error, AuthError::InsecureUrl { .. }), "{error}");
}

#[tokio::test]
async fn a_dead_endpoint_is_a_connection_error_naming_no_secret() {
    every_event_is_wanted();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("binds")
        .local_addr()
        .expect("addr")
        .port();
    let source = RefreshTokenSource::new(
        client(),
        &format!("http://127.0.0.1:{port}"),
        Secret::new("rt-secret"),
    )
    .expect("source");
    let error = source.token().await.expect_err("no server");
    assert!(
        matches!(error, AuthError::Connect { .. }) && error.is_transient(),
        "{error}"
    );
    assert!(
        error.to_string().contains("/oauth2/refresh") && !error.to_string().contains("rt-secret"),
        "{error}"
    );
}

/// A `MakeWriter` into a shared buffer, to read every log line the flows write.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_appears_in_errors_debug_or_logs() {
    every_event_is_wanted();
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (emulator, client_id) = emulator().await;
    emulator
        .add_refresh_token("rt-very-secret-refresh")
        .expect("adds");
    let mut shown: Vec<String> = Vec::new();
    let mut secrets: Vec<String> =
        vec!["rt-very-secret-refresh".into(), "rt-unknown-secret".into()];

    // Successful flows, with retries on 500s and early expiry to make the code log.
    emulator.set_faults("500=0.5,seed=5".parse().expect("spec"));
    let keypair_source = CachedTokenSource::new(keypair(&emulator, &client_id, key()));
    let token = keypair_source.token().await.expect("token");
    secrets.push(token.secret().expose().to_string());
    shown.push(format!("{token:?} {keypair_source:?}"));
    emulator.set_faults(Default::default());
    let refresh = RefreshTokenSource::new(
        client(),
        emulator.base_url(),
        Secret::new("rt-very-secret-refresh"),
    )
    .expect("source");
    let refreshed = refresh.token().await.expect("token");
    secrets.push(refreshed.secret().expose().to_string());
    shown.push(format!("{refreshed:?} {refresh:?}"));
    let assertion = ClientAssertion::new(key(), &client_id, emulator.token_url());
    let signed = assertion.sign().expect("signs");
    secrets.push(signed.expose().to_string());
    shown.push(format!("{assertion:?} {signed:?} {signed}"));
    let given = GivenToken::new(Secret::new("given-secret-token"));
    secrets.push("given-secret-token".into());
    shown.push(format!("{given:?}"));

    // Failures of every kind.
    let failures = [
        RefreshTokenSource::new(
            client(),
            emulator.base_url(),
            Secret::new("rt-unknown-secret"),
        )
        .expect("source")
        .token()
        .await
        .err(),
        keypair(&emulator, "0oaNOBODY", key()).token().await.err(),
        {
            given.invalidate();
            given.token().await.err()
        },
        AuthConfig::default().method().err(),
    ];
    for failure in failures.into_iter().flatten() {
        shown.push(format!("{failure} {failure:?}"));
    }

    let pem = key().to_pkcs8_pem();
    secrets.extend(
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .map(String::from),
    );
    let logs = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(logs.contains("retrying"), "the retries were logged: {logs}");
    shown.push(logs);
    for text in &shown {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
    }
}
