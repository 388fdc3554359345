//! The output cache's identity: an output is served from the cache only to a run against the
//! service, and for the account, that it was made by and for.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use extract_emulator::EmulatorConfig;
use serde_json::Value;

/// Every request a run can make of the emulator's API (token exchanges aside).
fn requests(s: &Setup) -> u64 {
    let stats = s.emulator.stats();
    stats.submissions
        + stats.upload_urls
        + stats.uploads
        + stats.upload_completions
        + stats.downloads
        + stats.polls.values().sum::<u64>()
}

async fn run_json(vars: &[(&'static str, String)], input: &Path, out: &Path) -> Value {
    let argv = [
        "run",
        &input.to_string_lossy(),
        "--out-dir",
        &out.to_string_lossy(),
        "--json",
    ];
    let result = run(&argv, &as_refs(vars)).await;
    assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
    serde_json::from_slice(&result.stdout).expect("summary")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_answers_only_its_own_service_and_account() {
    let config = EmulatorConfig::default().with_job_duration(Duration::ZERO);
    let dev = setup_with(config.clone()).await;
    let prod = setup_with(config).await;
    let inputs = dev.dir.path().join("in");
    pdfs(&inputs, 2);
    let cache = dev.dir.path().join("cache");
    let with_cache = |s: &Setup| {
        let mut vars = keypair_vars(s);
        vars.push((
            "KENSHO_EXTRACT_CACHE_DIR",
            cache.to_string_lossy().into_owned(),
        ));
        vars
    };
    let out = |name: &str| dev.dir.path().join(name);

    // The first service fills the cache.
    let summary = run_json(&with_cache(&dev), &inputs, &out("dev-1")).await;
    assert_eq!(summary["submissions"], 2);

    // Another service (another port, another client): sent there, not served from the cache.
    let summary = run_json(&with_cache(&prod), &inputs, &out("prod-1")).await;
    assert_eq!(summary["from_cache"], 0, "{summary}");
    assert_eq!(summary["submissions"], 2, "{summary}");
    assert!(requests(&prod) > 0, "the second service was asked");

    // The same service and client again, into another folder: from the cache, no request.
    let before = requests(&dev);
    let summary = run_json(&with_cache(&dev), &inputs, &out("dev-2")).await;
    assert_eq!(summary["from_cache"], 2, "{summary}");
    assert_eq!(summary["submissions"], 0, "{summary}");
    assert_eq!(requests(&dev), before, "no request at all");
    let before = requests(&prod);
    let summary = run_json(&with_cache(&prod), &inputs, &out("prod-2")).await;
    assert_eq!(summary["from_cache"], 2, "{summary}");
    assert_eq!(requests(&prod), before, "no request at all");

    // The same service, another client: not the first client's outputs.
    let key = extract_keys::PrivateKey::generate(extract_keys::KeySize::Rsa2048).expect("key");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let paths = extract_keys::write_keypair(other_dir.path(), &key, false).expect("writes");
    let other_client = dev
        .emulator
        .register_client(key.public_key())
        .expect("registers");
    let mut vars = with_cache(&dev);
    for (name, value) in &mut vars {
        match *name {
            "KENSHO_CLIENT_ID" => *value = other_client.clone(),
            "KENSHO_PRIVATE_KEY" => *value = paths.private.to_string_lossy().into_owned(),
            _ => {}
        }
    }
    let summary = run_json(&vars, &inputs, &out("dev-other")).await;
    assert_eq!(summary["from_cache"], 0, "{summary}");
    assert_eq!(summary["submissions"], 2, "{summary}");

    // A token for the first client, given as such: the same account as its key.
    let token = run(&["auth", "token"], &as_refs(&keypair_vars(&dev))).await;
    assert_eq!(token.status.code(), Some(0), "{}", text(&token.stderr));
    let token = text(&token.stdout).trim().to_string();
    let token_vars = vec![
        (
            "KENSHO_EXTRACT_API_URL",
            dev.emulator.base_url().to_string(),
        ),
        ("KENSHO_ACCESS_TOKEN", token),
        (
            "KENSHO_EXTRACT_CACHE_DIR",
            cache.to_string_lossy().into_owned(),
        ),
    ];
    let before = requests(&dev);
    let summary = run_json(&token_vars, &inputs, &out("dev-token")).await;
    assert_eq!(summary["from_cache"], 2, "{summary}");
    assert_eq!(requests(&dev), before, "no request at all");

    // Stats: one line per service, and the total; never a credential.
    let stats = run(&["cache", "stats", "--json"], &as_refs(&with_cache(&dev))).await;
    assert_eq!(stats.status.code(), Some(0), "{}", text(&stats.stderr));
    let stats: Value = serde_json::from_slice(&stats.stdout).expect("stats");
    assert_eq!(stats["entries"], 6, "{stats}");
    let services = stats["services"].as_array().expect("services");
    assert_eq!(services.len(), 2, "{stats}");
    let entries = |url: &str| {
        services
            .iter()
            .find(|s| s["service"] == url)
            .map(|s| s["entries"].clone())
    };
    assert_eq!(entries(dev.emulator.base_url()), Some(4.into()), "{stats}");
    assert_eq!(entries(prod.emulator.base_url()), Some(2.into()), "{stats}");
    let stats = run(&["cache", "stats"], &as_refs(&with_cache(&dev))).await;
    let shown = text(&stats.stdout);
    assert_eq!(shown.lines().count(), 3, "{shown}");
    assert!(
        shown.contains(&format!(
            "{}: 4 output document(s)",
            dev.emulator.base_url()
        )),
        "{shown}"
    );
    assert!(shown.contains("total: 6 output document(s)"), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_api_url_are_not_the_service_and_never_stored() {
    let s = setup_with(EmulatorConfig::default().with_job_duration(Duration::ZERO)).await;
    let inputs = s.dir.path().join("in");
    pdfs(&inputs, 1);
    let cache = s.dir.path().join("cache");
    let mut vars = keypair_vars(&s);
    vars.push((
        "KENSHO_EXTRACT_CACHE_DIR",
        cache.to_string_lossy().into_owned(),
    ));
    run_json(&vars, &inputs, &s.dir.path().join("plain")).await;

    // The same service, written with a user and password: the same cache entries.
    let with_credentials = s
        .emulator
        .base_url()
        .replacen("http://", "http://user:hunter2@", 1);
    for (name, value) in &mut vars {
        if *name == "KENSHO_EXTRACT_API_URL" {
            *value = with_credentials.clone();
        }
    }
    let summary = run_json(&vars, &inputs, &s.dir.path().join("again")).await;
    assert_eq!(summary["from_cache"], 1, "{summary}");
    let mut files = vec![cache.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("reads")
                    .map(|e| e.expect("entry").path()),
            );
        } else {
            let bytes = std::fs::read(&path).expect("reads");
            let shown = String::from_utf8_lossy(&bytes);
            assert!(
                !shown.contains("hunter") && !shown.contains(&s.client_id),
                "{}: {shown:.200}",
                path.display()
            );
        }
    }
}
