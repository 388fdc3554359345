//! Fault injection, the 413 that does not wait for the body, and the request log.

use std::time::Duration;

use crate::common::*;
use extract_emulator::{EmulatorConfig, FaultSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn faults(spec: &str) -> FaultSpec {
    spec.parse().expect("valid spec")
}

fn instant_jobs() -> EmulatorConfig {
    EmulatorConfig::default().with_job_duration(Duration::ZERO)
}

/// A token, then one submission under `spec`; the environment and what the client got.
async fn submission_under(spec: &str) -> (Env, reqwest::Result<reqwest::Response>) {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    env.emulator.set_faults(faults(spec));
    let sent = env
        .http
        .post(env.url("/v3/extractions"))
        .bearer_auth(&token)
        .multipart(submission(pdf(), &[]))
        .send()
        .await;
    (env, sent)
}

#[tokio::test]
async fn a_500_after_submission_still_created_the_job() {
    let (env, sent) = submission_under("500=1").await;
    assert_eq!(sent.expect("answers").status().as_u16(), 500);
    let stats = env.emulator.stats();
    assert_eq!(
        stats.submissions, 1,
        "the outcome is unknown to the client, but the job exists"
    );
    assert_eq!(stats.faults.get("500"), Some(&1));
}

#[tokio::test]
async fn a_429_comes_with_retry_after_and_creates_nothing() {
    let (env, sent) = submission_under("429=1,retry-after=7").await;
    let response = sent.expect("answers");
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(env.emulator.stats().submissions, 0);
}

#[tokio::test]
async fn a_dropped_connection_gives_no_answer_but_the_job_exists() {
    let (env, sent) = submission_under("drop=1").await;
    let error = sent.expect_err("no answer");
    assert!(!error.is_status(), "{error}");
    assert_eq!(env.emulator.stats().submissions, 1);
    let log = env.emulator.request_log();
    let last = log.last().expect("logged");
    assert_eq!((last.status, last.fault.as_deref()), (None, Some("drop")));
}

#[tokio::test]
async fn truncated_answers_are_not_valid_json() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    env.emulator.set_faults(faults("truncate=1"));
    let response = env
        .http
        .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 404);
    let body = response.text().await.expect("body");
    assert!(
        serde_json::from_str::<serde_json::Value>(&body).is_err(),
        "{body}"
    );
    assert!(!body.is_empty());
}

#[tokio::test]
async fn tokens_can_be_revoked_after_a_number_of_uses() {
    let env = Env::start(instant_jobs().with_faults(faults("revoke-after=3"))).await;
    let poll = |token: String| {
        let request = env
            .http
            .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
            .bearer_auth(token);
        async move { request.send().await.expect("answers") }
    };
    let first = env.access_token().await;
    for _ in 0..3 {
        assert_eq!(poll(first.clone()).await.status().as_u16(), 404, "in use");
    }
    let refused = poll(first.clone()).await;
    assert_eq!(refused.status().as_u16(), 401, "the fourth use");
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let body = refused.text().await.expect("body");
    assert!(body.contains("The access token has expired"), "{body}");
    assert_eq!(poll(first).await.status().as_u16(), 401, "and for good");
    // Another token has uses of its own.
    let second = env.access_token().await;
    assert_eq!(poll(second).await.status().as_u16(), 404);
    let stats = env.emulator.stats();
    assert_eq!(stats.faults.get("revoke"), Some(&2));
    assert_eq!(stats.unauthorized, 2);
}

#[tokio::test]
async fn tokens_can_expire_early() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    env.emulator.set_faults(faults("expire=1"));
    let response = env
        .http
        .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 401);
    env.emulator.set_faults(FaultSpec::default());
    let response = env
        .http
        .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(
        response.status().as_u16(),
        404,
        "the same token works again"
    );
}

#[tokio::test]
async fn slow_answers_take_their_time() {
    let env = Env::start(instant_jobs()).await;
    env.emulator.set_faults(faults("slow=1,slow-ms=400"));
    let start = tokio::time::Instant::now();
    let response = env
        .http
        .get(env.url("/oauth2/refresh"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 400);
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_share_of_faults_hits_about_that_share_and_spares_inspection() {
    let env = Env::start(instant_jobs()).await;
    env.emulator.set_faults(faults("500=0.5,seed=3"));
    let mut errors = 0;
    for _ in 0..200 {
        let status = env
            .http
            .get(env.url("/oauth2/refresh"))
            .send()
            .await
            .expect("answers")
            .status()
            .as_u16();
        errors += usize::from(status == 500);
        assert!(status == 500 || status == 400);
    }
    assert!((70..130).contains(&errors), "{errors} of 200");
    let stats: serde_json::Value = env
        .http
        .get(env.url("/_emulator/stats"))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["stats"]["faults"]["500"], errors);
}

#[tokio::test]
async fn oversized_documents_get_413_before_the_body_is_read() {
    let env = Env::start(EmulatorConfig::default()).await;
    let token = env.access_token().await;
    let addr = env
        .emulator
        .base_url()
        .trim_start_matches("http://")
        .to_string();
    let mut socket = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    // Declares 200 MB, sends a few bytes, and waits: the answer must come anyway.
    let head = format!(
        "POST /v3/extractions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 200000000\r\n\r\n--XYZ\r\n"
    );
    socket.write_all(head.as_bytes()).await.expect("writes");
    let mut answer = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), socket.read(&mut answer))
        .await
        .expect("answers without the body")
        .expect("reads");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(env.emulator.stats().submissions, 0);
}

#[tokio::test]
async fn documents_over_the_limit_are_refused_while_streaming() {
    let env = Env::start(EmulatorConfig::default().with_max_document_bytes(10_000)).await;
    let token = env.access_token().await;
    // Chunked, so no Content-Length tells in advance.
    let chunks =
        futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1000])));
    let part =
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("big.pdf");
    let form = reqwest::multipart::Form::new()
        .text("document_type", "general")
        .text("ocr", "false")
        .text("enhanced_table_extraction", "false")
        .part("file", part);
    match env
        .http
        .post(env.url("/v3/extractions"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        // The server may close before the client finished sending; then no answer is read.
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }
    assert_eq!(env.emulator.stats().submissions, 0);
}

#[tokio::test]
async fn the_request_log_shows_what_crossed_the_wire() {
    let env = Env::start(instant_jobs()).await;
    let token = env.access_token().await;
    env.http
        .get(env.url(&format!("/v3/extractions/{}", uuid::Uuid::new_v4())))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    let log = env.emulator.request_log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].uri.as_str(), log[0].status),
        ("POST", "/oauth2/default/v1/token", Some(200))
    );
    assert_eq!(log[1].status, Some(404));
    assert!(
        log.iter().all(|r| !r.uri.contains(&token)),
        "no token in any URL"
    );
}

#[tokio::test]
async fn clients_refresh_tokens_and_faults_can_be_set_over_http() {
    let env = Env::start(instant_jobs()).await;
    let other = extract_keys::PrivateKey::generate(extract_keys::KeySize::Rsa2048).expect("key");
    let response = env
        .http
        .post(env.url("/_emulator/clients"))
        .json(&serde_json::json!({"public_key_pem": other.public_key().to_spki_pem()}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let client_id = response.json::<serde_json::Value>().await.expect("json")["client_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(env.emulator.client_ids().contains(&client_id));
    let bad = env
        .http
        .post(env.url("/_emulator/clients"))
        .json(&serde_json::json!({"public_key_pem": "nope"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status().as_u16(), 400);

    let added = env
        .http
        .post(env.url("/_emulator/refresh-tokens"))
        .json(&serde_json::json!({"refresh_token": "rt-http"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(added.status().as_u16(), 204);
    let refreshed = env
        .http
        .get(env.url("/oauth2/refresh"))
        .query(&[("refresh_token", "rt-http")])
        .send()
        .await
        .expect("answers");
    assert_eq!(refreshed.status().as_u16(), 200);

    let set = env
        .http
        .put(env.url("/_emulator/faults"))
        .json(&serde_json::json!({"spec": "500=1"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(set.status().as_u16(), 204);
    let failing = env
        .http
        .get(env.url("/oauth2/refresh"))
        .send()
        .await
        .expect("answers");
    assert_eq!(failing.status().as_u16(), 500);
    let refused = env
        .http
        .put(env.url("/_emulator/faults"))
        .json(&serde_json::json!({"spec": "500=7"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        refused.status().as_u16(),
        400,
        "inspection endpoints never get faults"
    );
}
