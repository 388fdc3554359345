//! `kensho-extract keys` as a user runs it: a real process, real files.

use std::path::Path;
use std::process::{Command, Output};

fn kensho_extract(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kensho-extract"))
        .args(args)
        .output()
        .expect("runs kensho-extract")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn generate_writes_both_files_prints_thumbprint_and_next_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = kensho_extract(&["keys", "generate", "--out-dir", p(dir.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);

    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    let key = extract_keys::PrivateKey::load(&private).expect("loads");
    assert_eq!(key.bits(), 2048);
    assert!(
        stdout.contains(&format!(
            "Thumbprint (kid): {}",
            key.public_key().thumbprint()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("send")
            && stdout.contains("Client ID")
            && stdout.contains("Never send the private key")
    );
    let private_pem = std::fs::read_to_string(&private).expect("reads");
    let secret_line = private_pem.lines().nth(2).expect("base64 line");
    assert!(
        !stdout.contains(secret_line),
        "the private key is never printed"
    );

    // `keys public` gives back the same public key, as PEM and as a JWK.
    let out = kensho_extract(&["keys", "public", p(&private)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(&public).expect("reads")
    );
    let out = kensho_extract(&["keys", "public", p(&private), "--jwk"]);
    let jwk: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["kid"], key.public_key().thumbprint());
    assert_eq!(jwk["e"], "AQAB");
}

#[test]
fn generate_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let private = dir.path().join("private.pem");
    assert!(
        kensho_extract(&["keys", "generate", "--out-dir", p(dir.path())])
            .status
            .success()
    );
    let before = std::fs::read(&private).expect("reads");

    let out = kensho_extract(&["keys", "generate", "--out-dir", p(dir.path())]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&private).expect("reads"),
        before,
        "the old key is intact"
    );

    let out = kensho_extract(&[
        "keys",
        "generate",
        "--out-dir",
        p(dir.path()),
        "--force",
        "--bits",
        "3072",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        extract_keys::PrivateKey::load(&private)
            .expect("loads")
            .bits(),
        3072
    );
}

#[test]
fn exit_codes_usage_is_2_other_errors_are_1_with_one_line() {
    let out = kensho_extract(&["keys", "generate", "--bits", "lots"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kensho_extract(&["keys", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().expect("tempdir");
    let out = kensho_extract(&[
        "keys",
        "generate",
        "--bits",
        "1024",
        "--out-dir",
        p(dir.path()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("2048"), "{}", text(&out.stderr));
    assert!(!dir.path().join("private.pem").exists());

    let missing = dir.path().join("nope.pem");
    let out = kensho_extract(&["keys", "public", p(&missing)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nope.pem"), "{stderr}");

    let public = dir.path().join("pub.pem");
    assert!(
        kensho_extract(&["keys", "generate", "--out-dir", p(dir.path())])
            .status
            .success()
    );
    std::fs::rename(dir.path().join("public.pem"), &public).expect("renames");
    let out = kensho_extract(&["keys", "public", p(&public)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a private key"),
        "{}",
        text(&out.stderr)
    );
}
