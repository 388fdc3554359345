//! Client assertions signed per second against `openssl speed rsa2048` sign/s, measured in the
//! same run (alternating rounds), and the cost of a cached `token()` call:
//! `cargo bench -p extract-auth --bench auth`.

use std::process::Command;
use std::time::{Duration, Instant};

use extract_auth::{CachedTokenSource, ClientAssertion, GivenToken, Secret, TokenSource};
use extract_keys::{KeySize, PrivateKey};

const ROUND: Duration = Duration::from_secs(3);

fn main() {
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
    let assertion = ClientAssertion::new(
        &key,
        "0oaBENCH",
        "https://kensho.okta.com/oauth2/default/v1/token",
    );
    let pair = ring::signature::RsaKeyPair::from_der(&key.to_pkcs1_der()).expect("ring key");
    let (mut ours, mut theirs, mut raw) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        theirs.push(openssl_sign_per_second());
        ours.push(assertions_per_second(&assertion));
        raw.push(ring_signatures_per_second(&pair));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ours, theirs, raw) = (median(&mut ours), median(&mut theirs), median(&mut raw));
    println!("RS256 client assertions (jsonwebtoken + ring), one thread: {ours:8.0} /s");
    println!("openssl speed rsa2048 sign, one thread:                    {theirs:8.0} /s");
    println!("bare ring RSA-2048 PKCS#1 SHA-256 signatures, one thread:  {raw:8.0} /s");
    println!(
        "ratio (ours / openssl): {:.2}; JWT overhead over bare ring: {:.1}%",
        ours / theirs,
        (raw / ours - 1.0) * 100.0
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let cache = CachedTokenSource::new(GivenToken::new(Secret::new("token")));
    let calls = 1_000_000u32;
    let elapsed = runtime.block_on(async {
        cache.token().await.expect("token");
        let start = Instant::now();
        for _ in 0..calls {
            std::hint::black_box(cache.token().await.expect("token"));
        }
        start.elapsed()
    });
    println!(
        "cached token(): {:.0} ns per call over {calls} calls",
        elapsed.as_nanos() as f64 / f64::from(calls)
    );
}

fn assertions_per_second(assertion: &ClientAssertion) -> f64 {
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < ROUND {
        std::hint::black_box(assertion.sign().expect("signs"));
        count += 1;
    }
    f64::from(count) / start.elapsed().as_secs_f64()
}

fn ring_signatures_per_second(pair: &ring::signature::RsaKeyPair) -> f64 {
    let rng = ring::rand::SystemRandom::new();
    let mut signature = vec![0; pair.public().modulus_len()];
    let start = Instant::now();
    let mut count = 0u32;
    while start.elapsed() < ROUND {
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &rng,
            b"header.claims",
            &mut signature,
        )
        .expect("signs");
        count += 1;
    }
    f64::from(count) / start.elapsed().as_secs_f64()
}

/// Runs `openssl speed` for one round and reads its RSA-2048 sign/s.
fn openssl_sign_per_second() -> f64 {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", &ROUND.as_secs().to_string(), "rsa2048"])
        .output()
        .expect("the openssl command is needed for this benchmark");
    let text = String::from_utf8_lossy(&output.stdout);
    // "rsa 2048 bits 0.000657s 0.000019s   1521.3  52263.6": sign/s is the third number.
    text.lines()
        .find(|l| {
            l.trim_start().starts_with("rsa 2048 bits")
                || l.trim_start().starts_with("rsa  2048 bits")
        })
        .and_then(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse::<f64>().ok())
                .nth(1)
        })
        .unwrap_or_else(|| panic!("unexpected `openssl speed` output:\n{text}"))
}
