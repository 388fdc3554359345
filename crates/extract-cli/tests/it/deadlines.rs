//! Every wait ends, and says the truth (issue 10): against a server that accepts connections
//! and never answers, each command stops at its deadline with the documented exit code and
//! states the time it actually waited. Real sockets, real time, short limits.

use std::time::{Duration, Instant};

use crate::common::run;
use extract_emulator::SilentServer;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const ID: &str = "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c";

#[tokio::test(flavor = "multi_thread")]
async fn wait_stops_at_its_timeout_with_exit_code_4() {
    let silent = SilentServer::start().await.expect("starts");
    let api = silent.url().to_string();
    let started = Instant::now();
    let out = run(
        &["wait", ID, "--timeout", "2"],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_ACCESS_TOKEN", "t"),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(stderr(&out).contains("after 2."), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("kensho-extract wait {ID}")));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_stops_at_its_timeout_with_exit_code_4() {
    let silent = SilentServer::start().await.expect("starts");
    let api = silent.url().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("in/a.pdf");
    std::fs::create_dir_all(pdf.parent().expect("parent")).expect("mkdir");
    std::fs::write(&pdf, small_pdf()).expect("writes");
    let out_dir = dir.path().join("out");
    let started = Instant::now();
    let out = run(
        &[
            "run",
            pdf.to_str().expect("utf8"),
            "--out-dir",
            out_dir.to_str().expect("utf8"),
            "--timeout",
            "2",
        ],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_ACCESS_TOKEN", "t"),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(
        stderr(&out).contains("run the same command again"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_submission_is_an_unknown_outcome_said_as_such() {
    let silent = SilentServer::start().await.expect("starts");
    let api = silent.url().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, small_pdf()).expect("writes");
    let started = Instant::now();
    let out = run(
        &[
            "submit",
            pdf.to_str().expect("utf8"),
            "--request-timeout",
            "2",
        ],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_ACCESS_TOKEN", "t"),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    let said = stderr(&out);
    assert!(
        said.contains("may or may not have created the job"),
        "{said}"
    );
    assert!(said.contains("no answer came within 2."), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_token_says_the_time_it_really_waited() {
    let silent = SilentServer::start().await.expect("starts");
    let okta = silent.url().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = extract_keys::PrivateKey::generate(extract_keys::KeySize::Rsa2048).expect("key");
    let paths = extract_keys::write_keypair(dir.path(), &key, false).expect("writes");
    let started = Instant::now();
    let out = run(
        &["auth", "token", "--request-timeout", "2"],
        &[
            ("KENSHO_TOKEN_URL", &okta),
            ("KENSHO_CLIENT_ID", "client"),
            ("KENSHO_PRIVATE_KEY", paths.private.to_str().expect("utf8")),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let said = stderr(&out);
    assert!(said.contains("did not answer within 2"), "{said}");
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn zero_timeouts_and_concurrency_are_usage_errors() {
    for args in [
        &["wait", ID, "--timeout", "0"][..],
        &["run", "x.pdf", "--out-dir", "o", "--timeout", "0"],
        &["run", "x.pdf", "--out-dir", "o", "--concurrency", "0"],
        &["status", ID, "--request-timeout", "0"],
    ] {
        let out = run(args, &[]).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

/// A real one-page PDF: preflight reads it before anything is sent.
fn small_pdf() -> Vec<u8> {
    extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
        heading: "A small document".into(),
        paragraphs: vec![],
    }])
}

/// An object store that accepts connections and never answers cannot hold `run` past its
/// deadline either.
#[tokio::test(flavor = "multi_thread")]
async fn run_from_a_silent_store_stops_at_its_timeout_with_exit_code_4() {
    let store = SilentServer::start().await.expect("starts");
    let endpoint = store.url().trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    let started = Instant::now();
    let out = run(
        &[
            "run",
            "s3://corpus/in",
            "--out-dir",
            out_dir.to_str().expect("utf8"),
            "--timeout",
            "2",
        ],
        &[
            ("KENSHO_EXTRACT_API_URL", &endpoint),
            ("KENSHO_ACCESS_TOKEN", "t"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(
        stderr(&out).contains("--timeout deadline"),
        "{}",
        stderr(&out)
    );
}
