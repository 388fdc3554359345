//! What the emulator's tests share: a client made of nothing but reqwest, ring and our keys.
#![allow(dead_code)] // each test file uses its own part

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use extract_emulator::{Emulator, EmulatorConfig, RunningEmulator, SamplePage, sample_pdf};
use extract_keys::{KeySize, PrivateKey};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One RSA key for all tests of a binary: generating one per test would only cost time.
pub fn key() -> &'static PrivateKey {
    static KEY: std::sync::OnceLock<PrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate(KeySize::Rsa2048).expect("key"))
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Signs `claims` with `header` using RS256 and `key`, as any JWT library would.
pub fn sign(key: &PrivateKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&key.to_pkcs8_der()).expect("ring key");
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Claims of a good client assertion.
pub fn claims(client_id: &str, token_url: &str) -> Value {
    let now = now();
    json!({
        "iss": client_id, "sub": client_id, "aud": token_url,
        "iat": now - 5, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
    })
}

pub fn rs256() -> Value {
    json!({"alg": "RS256", "typ": "JWT"})
}

/// A plain reqwest client (reqwest is built without a bundled TLS provider: pick ring's).
pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub struct Env {
    pub emulator: RunningEmulator,
    pub client_id: String,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start(config: EmulatorConfig) -> Env {
        let emulator = Emulator::start(config).await.expect("starts");
        let client_id = emulator
            .register_client(key().public_key())
            .expect("registers");
        Env {
            emulator,
            client_id,
            http: http(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    /// Posts a token request with these form fields.
    pub async fn token_request(&self, fields: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(self.emulator.token_url())
            .form(fields)
            .send()
            .await
            .expect("answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON"))
    }

    /// The whole keypair flow: a signed assertion exchanged for an access token.
    pub async fn access_token(&self) -> String {
        let assertion = sign(
            key(),
            &rs256(),
            &claims(&self.client_id, &self.emulator.token_url()),
        );
        let (status, body) = self
            .token_request(&[
                ("grant_type", "client_credentials"),
                ("scope", "kensho:app:extract"),
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &assertion),
            ])
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }
}

/// A two-page PDF with known words.
pub fn pdf() -> Vec<u8> {
    sample_pdf(&[
        SamplePage {
            heading: "Emulator Test Report".into(),
            paragraphs: vec!["The first page talks about apples.".into()],
        },
        SamplePage {
            heading: "Second Page".into(),
            paragraphs: vec!["The second page talks about pears.".into()],
        },
    ])
}

/// The required submission fields, plus a file part.
pub fn submission(document: Vec<u8>, extra: &[(&'static str, &'static str)]) -> Form {
    let mut form = Form::new()
        .text("document_type", "hierarchical_v2")
        .text("ocr", "false")
        .text("enhanced_table_extraction", "false");
    for (k, v) in extra {
        form = form.text(*k, *v);
    }
    form.part(
        "file",
        Part::bytes(document)
            .file_name("test.pdf")
            .mime_str("application/pdf")
            .expect("mime"),
    )
}

/// Every `content` string of a content tree, in order.
pub fn texts(node: &Value, out: &mut Vec<String>) {
    if let Some(text) = node["content"].as_str() {
        out.push(text.to_string());
    }
    for child in node["children"].as_array().into_iter().flatten() {
        texts(child, out);
    }
}
