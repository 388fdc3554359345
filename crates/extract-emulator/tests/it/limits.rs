//! The emulator bounds what a client can make it hold (issue 10): bodies of requests that
//! carry no document, text fields of forms, and the time a connection may take to send its
//! headers.

use std::time::{Duration, Instant};

use crate::common::*;
use extract_emulator::EmulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn bodies_without_a_document_are_bounded() {
    let env = Env::start(EmulatorConfig::default()).await;
    let big = "a".repeat(200 * 1024);
    // The token endpoint.
    let response = env
        .http
        .post(env.emulator.token_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={big}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 413);
    // The inspection endpoints.
    let response = env
        .http
        .post(env.url("/_emulator/refresh-tokens"))
        .json(&serde_json::json!({ "refresh_token": big }))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 413);
    // The upload-url form.
    let token = env.access_token().await;
    let form = reqwest::multipart::Form::new()
        .text("output_format", "structured_document")
        .text("document_type", big.clone());
    let response = env
        .http
        .post(env.url("/v3/extractions/upload-url"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("answers");
    assert!(
        matches!(response.status().as_u16(), 400 | 413),
        "{}",
        response.status()
    );
    // A text field of a submission is bounded too, though the document part is large.
    let form = submission(pdf(), &[]).text("document_id", "x".repeat(100 * 1024));
    let response = env
        .http
        .post(env.url("/v3/extractions"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 400);
    let body = response.text().await.expect("text");
    assert!(body.contains("document_id"), "{body}");
    assert_eq!(env.emulator.stats().submissions, 0);
}

#[tokio::test]
async fn a_connection_that_never_sends_its_headers_is_closed() {
    let env =
        Env::start(EmulatorConfig::default().with_header_read_timeout(Duration::from_millis(500)))
            .await;
    let address = env
        .emulator
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /v3/extractions/x HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    let started = Instant::now();
    let mut rest = Vec::new();
    // Closed (cleanly or by a reset) well before 10 s.
    let _closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
        .await
        .expect("closed well before 10 s");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        rest.is_empty() || String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test]
async fn a_port_in_use_is_said_once_with_its_cause() {
    let first = extract_emulator::Emulator::start(EmulatorConfig::default())
        .await
        .expect("starts");
    let taken: std::net::SocketAddr = first
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let refused = extract_emulator::Emulator::start(EmulatorConfig::default().with_bind(taken))
        .await
        .expect_err("the port is taken");
    let cause = std::error::Error::source(&refused)
        .expect("the operating system's error")
        .to_string();
    // The error says its own part; the cause is `source()`, so a chain shows it once.
    assert_eq!(refused.to_string(), format!("cannot listen on {taken}"));
    assert!(
        !cause.is_empty() && !refused.to_string().contains(&cause),
        "{cause}"
    );
}
