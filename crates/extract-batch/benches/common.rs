//! Shared by the benches: an emulator and a client that uses it.

use std::sync::Arc;
use std::time::Duration;

use extract_api::Client;
use extract_auth::{CachedTokenSource, ClientAssertion, KeypairSource};
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator};
use extract_keys::{KeySize, PrivateKey};

pub async fn start(job_duration: Duration) -> (RunningEmulator, Client) {
    let emulator = Emulator::start(EmulatorConfig::default().with_job_duration(job_duration))
        .await
        .expect("starts");
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let client_id = emulator
        .register_client(key.public_key())
        .expect("registers");
    let http = extract_auth::http::client_builder().build().expect("http");
    let assertion = ClientAssertion::new(&key, client_id, emulator.token_url());
    let tokens = CachedTokenSource::new(
        KeypairSource::new(http, &emulator.token_url(), assertion).expect("source"),
    );
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token_source(Arc::new(tokens))
        .build()
        .expect("client");
    (emulator, client)
}
