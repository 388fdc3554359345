//! `kensho-extract emulator` as a person or a script uses it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn prints_exports_then_serves_the_registered_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keygen = Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .args(["keys", "generate", "--out-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(keygen.status.success());

    let mut child = Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .args([
            "emulator",
            "--accept-refresh-token",
            "rt-demo",
            "--register-key",
        ])
        .arg(dir.path().join("public.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut exports = std::collections::HashMap::new();
    for _ in 0..3 {
        let line = lines.next().expect("a line").expect("utf-8");
        let (name, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .expect("export NAME=VALUE");
        exports.insert(name.to_string(), value.to_string());
    }
    let api = exports["KENSHO_EXTRACT_API_URL"].clone();
    assert!(api.starts_with("http://127.0.0.1:"), "{api}");
    assert_eq!(
        exports["KENSHO_TOKEN_URL"],
        format!("{api}/oauth2/default/v1/token")
    );
    assert!(exports["KENSHO_CLIENT_ID"].starts_with("0oa"));

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let refreshed = http
        .get(format!("{api}/oauth2/refresh"))
        .query(&[("refresh_token", "rt-demo")])
        .send()
        .await
        .expect("answers");
    assert_eq!(refreshed.status().as_u16(), 200);

    child.kill().expect("stops");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("reads");
    child.wait().expect("waits");
    assert!(stderr.contains("loopback only"), "{stderr}");
}
