//! Shared by the CLI's tests: an emulator with a registered key, and running the binary.
#![allow(dead_code)] // each test file uses its own part

pub mod moto;

use std::process::{Command, Output};

use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator};

pub struct Setup {
    pub emulator: RunningEmulator,
    pub client_id: String,
    pub dir: tempfile::TempDir,
    pub key_path: std::path::PathBuf,
}

pub async fn setup() -> Setup {
    setup_with(EmulatorConfig::default()).await
}

pub async fn setup_with(config: EmulatorConfig) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = extract_keys::PrivateKey::generate(extract_keys::KeySize::Rsa2048).expect("key");
    let paths = extract_keys::write_keypair(dir.path(), &key, false).expect("writes");
    let emulator = Emulator::start(config).await.expect("starts");
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    Setup {
        emulator,
        client_id,
        key_path: paths.private,
        dir,
    }
}

/// Runs the CLI with only the given `KENSHO_*` variables set, and an output cache of its own
/// (empty) unless `KENSHO_EXTRACT_CACHE_DIR` is among them: one test's outputs never answer
/// another's requests, nor do the user's.
pub async fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kensho-extract"));
    command.args(args);
    // Neither the machine's settings nor a scheduler the tests run under (`--shard auto`).
    for (name, _) in
        std::env::vars().filter(|(n, _)| n.starts_with("KENSHO_") || scheduler_variable(n))
    {
        command.env_remove(name);
    }
    command.envs(vars.iter().copied());
    let own_cache = !vars.iter().any(|(n, _)| *n == "KENSHO_EXTRACT_CACHE_DIR");
    tokio::task::spawn_blocking(move || {
        let cache = tempfile::tempdir().expect("tempdir");
        if own_cache {
            command.env("KENSHO_EXTRACT_CACHE_DIR", cache.path());
        }
        command.output().expect("runs")
    })
    .await
    .expect("joins")
}

/// A variable a batch scheduler sets in its tasks, which `--shard auto` reads.
pub fn scheduler_variable(name: &str) -> bool {
    name.starts_with("SLURM_") || name.starts_with("AWS_BATCH_") || name == "JOB_COMPLETION_INDEX"
}

pub fn keypair_vars(s: &Setup) -> Vec<(&'static str, String)> {
    vec![
        ("KENSHO_EXTRACT_API_URL", s.emulator.base_url().to_string()),
        ("KENSHO_TOKEN_URL", s.emulator.token_url()),
        ("KENSHO_CLIENT_ID", s.client_id.clone()),
        (
            "KENSHO_PRIVATE_KEY",
            s.key_path.to_string_lossy().into_owned(),
        ),
    ]
}

pub fn as_refs<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

pub async fn probe(s: &Setup, token: &str) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .get(format!(
            "{}/v3/extractions/{}",
            s.emulator.base_url(),
            uuid::Uuid::new_v4()
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("answers")
        .status()
        .as_u16()
}

/// `count` one-page sample PDFs, `report-<i>.pdf`, in `dir` (made if missing).
pub fn pdfs(dir: &std::path::Path, count: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for i in 0..count {
        let pdf = extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
            heading: format!("Report {i}"),
            paragraphs: vec![format!("Paragraph of report {i}.")],
        }]);
        std::fs::write(dir.join(format!("report-{i}.pdf")), pdf).expect("writes");
    }
}

/// Bytes a command printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The CLI with the emulator's and moto's variables only (no AWS or Kensho setting of the
/// machine's), and a cache of its own.
pub fn isolated_command(
    args: &[&str],
    vars: &[(&'static str, String)],
    cache: &std::path::Path,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kensho-extract"));
    command.args(args);
    isolate(&mut command, vars, cache);
    command
}

/// Gives `command` (the CLI, or a scheduler that passes its environment on to it) the given
/// variables and output cache, and none of the machine's AWS, cloud, Kensho or scheduler ones.
pub fn isolate(command: &mut Command, vars: &[(&'static str, String)], cache: &std::path::Path) {
    for (name, _) in std::env::vars().filter(|(n, _)| {
        n.starts_with("KENSHO_")
            || n.starts_with("AWS_")
            || n.starts_with("GOOGLE_")
            || n.starts_with("AZURE_")
            || scheduler_variable(n)
    }) {
        command.env_remove(name);
    }
    command.envs(vars.iter().map(|(n, v)| (*n, v.as_str())));
    command.env("KENSHO_EXTRACT_CACHE_DIR", cache);
}
