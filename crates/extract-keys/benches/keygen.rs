//! In-process comparison of RSA-2048 generators, interleaved in one run:
//! `cargo bench -p extract-keys --bench keygen`.
//!
//! It is the measurement behind the choice in `src/generate.rs`: the `rsa` crate's own
//! `RsaPrivateKey::new` against our racing, better-sieved search.

use std::time::{Duration, Instant};

use extract_keys::{KeySize, PrivateKey};

fn main() {
    let runs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(25usize);
    let mut ours = Vec::with_capacity(runs);
    let mut rsa_crate = Vec::with_capacity(runs);
    for _ in 0..runs {
        ours.push(time(|| {
            PrivateKey::generate(KeySize::Rsa2048)
                .map(drop)
                .map_err(|e| e.to_string())
        }));
        rsa_crate.push(time(|| {
            rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .map(drop)
                .map_err(|e| e.to_string())
        }));
    }
    let (a, b) = (median(&mut ours), median(&mut rsa_crate));
    println!("RSA-2048 key generation, {runs} runs each, interleaved");
    println!("extract-keys PrivateKey::generate  median {a:7.1} ms");
    println!("rsa 0.9 RsaPrivateKey::new         median {b:7.1} ms");
    println!("ratio (extract-keys / rsa): {:.2}", a / b);
}

fn time(f: impl FnOnce() -> Result<(), String>) -> Duration {
    let start = Instant::now();
    if let Err(e) = f() {
        panic!("key generation failed: {e}");
    }
    start.elapsed()
}

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}
