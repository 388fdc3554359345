//! `kensho-extract auth` against the emulator, as a script would call it.

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn auth_token_prints_only_a_token_the_emulator_accepts() {
    let s = setup().await;
    let vars = keypair_vars(&s);
    let out = run(&["auth", "token"], &as_refs(&vars)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(stdout.lines().count(), 1, "only the token: {stdout}");
    assert_eq!(probe(&s, stdout.trim()).await, 404);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_verify_names_the_method_and_expiry_and_checks_the_api() {
    let s = setup().await;
    let vars = keypair_vars(&s);
    let out = run(&["auth", "verify"], &as_refs(&vars)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    assert!(stdout.contains("method:  keypair"), "{stdout}");
    assert!(
        stdout.contains("expires: in 59m") || stdout.contains("expires: in 1h 00m"),
        "{stdout}"
    );
    assert!(stdout.contains("accepted the token"), "{stdout}");

    let out = run(&["auth", "verify", "--json"], &as_refs(&vars)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(verified["method"], "keypair");
    assert_eq!(verified["accepted"], true);
    let left = verified["expires_in_seconds"].as_u64().expect("seconds");
    assert!((3500..=3600).contains(&left), "{verified}");
    assert!(
        verified["api_url"]
            .as_str()
            .expect("url")
            .starts_with("http://127.0.0.1:")
    );

    // A given token the API refuses: exit 6 (credentials refused), one line, and the token is
    // not echoed.
    let api = s.emulator.base_url().to_string();
    let out = run(
        &["auth", "verify"],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_ACCESS_TOKEN", "pasted-secret-token"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the token") && !stderr.contains("pasted-secret-token"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("pasted-secret-token"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresh_token_method_and_precedence() {
    let s = setup().await;
    s.emulator.add_refresh_token("rt-cli").expect("adds");
    let api = s.emulator.base_url().to_string();
    let out = run(
        &["auth", "verify"],
        &[
            ("KENSHO_EXTRACT_API_URL", &api),
            ("KENSHO_REFRESH_TOKEN", "rt-cli"),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("method:  refresh token"));

    // Keypair wins over a refresh token.
    let mut vars = keypair_vars(&s);
    vars.push(("KENSHO_REFRESH_TOKEN", "rt-cli".into()));
    let out = run(&["auth", "verify"], &as_refs(&vars)).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("method:  keypair"));
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_assertion_prints_a_signed_jwt() {
    let s = setup().await;
    let vars = keypair_vars(&s);
    let out = run(&["auth", "assertion"], &as_refs(&vars)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(jwt.trim().split('.').count(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_says_which_variables_to_set() {
    let out = run(&["auth", "token"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for name in [
        "KENSHO_ACCESS_TOKEN",
        "KENSHO_CLIENT_ID",
        "KENSHO_PRIVATE_KEY",
        "KENSHO_REFRESH_TOKEN",
    ] {
        assert!(stderr.contains(name), "{stderr}");
    }
}

/// A private key its group or others can read is used, with one warning on stderr naming the
/// file and the fix (as ssh does); a 0600 key, as `keys generate` writes it, gets no word.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_private_key_others_can_read_is_warned_about_once() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup().await;
    let vars = keypair_vars(&s);
    let key = s.key_path.display().to_string();
    let warning = format!(
        "warning: private key {key} is readable by group or others (mode 0644): run chmod 600 {key}"
    );
    let chmod = |mode| {
        std::fs::set_permissions(&s.key_path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 2);
    let out_dir = s.dir.path().join("out").display().to_string();
    let inputs = inputs.display().to_string();
    let commands: [&[&str]; 4] = [
        &["auth", "token"],
        &["auth", "verify"],
        &["run", &inputs, "--out-dir", &out_dir, "--overwrite"],
        &["keys", "public", &key],
    ];
    for mode in [0o600, 0o644] {
        chmod(mode);
        for args in commands {
            let out = run(args, &as_refs(&vars)).await;
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
            if mode == 0o600 {
                assert!(!stderr.contains("warning"), "{args:?}: {stderr}");
            } else {
                assert_eq!(stderr.matches(&warning).count(), 1, "{args:?}: {stderr}");
                assert_eq!(stderr.matches("warning").count(), 1, "{args:?}: {stderr}");
            }
        }
    }
    // A key given but not used (an access token wins) is not judged.
    let mut given = vars.clone();
    given.push(("KENSHO_ACCESS_TOKEN", "a-token".into()));
    let out = run(&["auth", "token"], &as_refs(&given)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "a-token");
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_client_is_one_clear_line() {
    let s = setup().await;
    let mut vars = keypair_vars(&s);
    vars[2].1 = "0oaWRONGCLIENT".into();
    let out = run(&["auth", "token"], &as_refs(&vars)).await;
    // Credentials refused: exit 6, with what to check.
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid_client") && stderr.contains("not registered"),
        "{stderr}"
    );
    assert!(stderr.contains("check the client id and key"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
}

/// A token endpoint that answers every request with `body` (status 200), on an ephemeral
/// loopback port: for answers no real server would give. Returns its token URL.
fn token_endpoint_answering(body: &'static str) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!(
        "http://{}/oauth2/default/v1/token",
        listener.local_addr().expect("addr")
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            // The request's head, then as much body as it says.
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut form = vec![0; length];
            let _ = reader.read_exact(&mut form);
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_said_to_live_u64_max_seconds_is_printed_not_a_panic() {
    let s = setup().await;
    let mut vars = keypair_vars(&s);
    vars[1].1 = token_endpoint_answering(
        r#"{"access_token":"x","token_type":"Bearer","expires_in":18446744073709551615}"#,
    );
    let out = run(&["auth", "token"], &as_refs(&vars)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "a panic: {stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "x");
}
