//! Answers and URLs from the server are untrusted (issue 10): storage URLs and redirects obey
//! the https rule, a redirect never carries the bearer token to another origin, storage never
//! sees it, a silent server ends a submission as an unknown outcome, and a file name cannot
//! break the multipart header. Plain servers on 127.0.0.1 answer canned replies; addresses off
//! this machine are TEST-NET (192.0.2.0/24), refused before any connection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use extract_api::{ApiError, Client, ExtractionOptions, NoRetry};
use extract_auth::{GivenToken, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server that records each request's head and answers `reply(head)`; `None` keeps the
/// connection open and silent.
async fn canned(
    reply: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("address");
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0; 4096];
                while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buffer).into_owned();
                // The body too, when its length is given.
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let header_end = buffer
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                while buffer.len() < header_end + length {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&buffer).into_owned();
                seen.lock().expect("lock").push(request);
                match reply(&head) {
                    Some(answer) => {
                        let _ = stream.write_all(answer.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                    None => {
                        // Read (and drop) whatever comes, never answer.
                        while let Ok(n) = stream.read(&mut chunk).await {
                            if n == 0 {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    (format!("http://{address}"), heads)
}

fn answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

fn client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .token_source(Arc::new(GivenToken::new(Secret::new("secret-bearer"))))
        .retry_policy(NoRetry)
        .response_timeout(Duration::from_secs(1))
        .build()
        .expect("client")
}

const ID: &str = "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c";

#[tokio::test]
async fn storage_urls_off_this_machine_must_be_https() {
    let client = client("http://127.0.0.1:9");
    let started = Instant::now();
    let error = client
        .download_bytes("http://192.0.2.1/output.json?X-Signature=s3cr3t")
        .await
        .expect_err("refused");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused before connecting"
    );
    let text = error.to_string();
    assert!(text.contains("http"), "{text}");
    assert!(
        !text.contains("s3cr3t"),
        "the signature is not shown: {text}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 x").expect("writes");
    let spec: extract_api::UploadSpec = serde_json::from_value(serde_json::json!({
        "url": "http://192.0.2.1/upload", "fields": {"key": "k"}
    }))
    .expect("spec");
    let error = client.upload(&spec, &pdf).await.expect_err("refused");
    assert!(error.to_string().contains("upload URL"), "{error}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed_and_the_token_stays_home() {
    let (elsewhere, elsewhere_heads) = canned(|_| Some(answer("200 OK", "", "{}"))).await;
    let target = format!("{elsewhere}/v3/extractions/{ID}");
    let (api, _) =
        canned(move |_| Some(answer("302 Found", &format!("Location: {target}\r\n"), ""))).await;
    let error = client(&api)
        .status(ID, None)
        .await
        .expect_err("not followed");
    assert!(
        matches!(error, ApiError::Service { status: 302, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("not followed"), "{error}");
    assert!(
        elsewhere_heads.lock().expect("lock").is_empty(),
        "nothing went there"
    );

    // A redirect to plain http off this machine is refused outright.
    let (api, _) = canned(|_| {
        Some(answer(
            "307 Temporary Redirect",
            "Location: http://192.0.2.1/v3/x\r\n",
            "",
        ))
    })
    .await;
    let error = client(&api).status(ID, None).await.expect_err("refused");
    assert!(!matches!(error, ApiError::Service { .. }), "{error}");
}

#[tokio::test]
async fn storage_never_sees_the_bearer_token() {
    let (storage, heads) = canned(|_| Some(answer("200 OK", "", "{\"content_tree\": null}"))).await;
    let client = client("http://127.0.0.1:9");
    client
        .download_bytes(&format!("{storage}/output.json"))
        .await
        .expect("downloads");
    let heads = heads.lock().expect("lock");
    assert_eq!(heads.len(), 1);
    assert!(
        !heads[0].to_lowercase().contains("authorization"),
        "{}",
        heads[0]
    );
    assert!(!heads[0].contains("secret-bearer"));
}

#[tokio::test]
async fn a_silent_server_ends_a_submission_as_an_unknown_outcome() {
    let (api, heads) = canned(|_| None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 a small document").expect("writes");
    let started = Instant::now();
    let error = client(&api)
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect_err("no answer");
    let took = started.elapsed();
    assert!(matches!(error, ApiError::OutcomeUnknown { .. }), "{error}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert!(
        error.to_string().contains("no answer came within 1."),
        "{error}"
    );
    assert_eq!(
        heads.lock().expect("lock").len(),
        1,
        "sent once, not retried"
    );
}

#[tokio::test]
async fn a_line_break_in_a_file_name_cannot_break_the_request() {
    let (api, heads) = canned(|_| {
        Some(answer(
            "200 OK",
            "Content-Type: application/json\r\n",
            &format!("{{\"request_id\": \"{ID}\"}}"),
        ))
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("evil\r\nX-Injected: yes\".pdf");
    std::fs::write(&pdf, b"%PDF-1.4 x").expect("writes");
    let submission = client(&api)
        .submit(&pdf, &ExtractionOptions::new())
        .await
        .expect("submits");
    assert_eq!(submission.request_id, ID);
    let requests = heads.lock().expect("lock");
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].contains("filename=\"evil%0D%0AX-Injected: yes%22.pdf\""),
        "{}",
        requests[0]
    );
    assert!(!requests[0].contains("\r\nX-Injected"));
}

#[tokio::test]
async fn an_answer_past_the_size_cap_is_refused_not_read() {
    let big = format!(
        "{{\"status\": \"pending\", \"pad\": \"{}\"}}",
        "x".repeat(5000)
    );
    let (api, _) = canned(move |_| Some(answer("200 OK", "", &big))).await;
    let client = Client::builder()
        .base_url(&api)
        .token_source(Arc::new(GivenToken::new(Secret::new("t"))))
        .retry_policy(NoRetry)
        .max_answer_bytes(1000)
        .build()
        .expect("client");
    let error = client.status(ID, None).await.expect_err("too large");
    assert!(
        matches!(error, ApiError::TooLarge { limit: 1000, .. }),
        "{error}"
    );
    assert_eq!(error.request_id(), Some(ID));
}
