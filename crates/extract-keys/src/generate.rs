//! RSA key generation: a prime search that races on every core.
//!
//! ring cannot generate RSA keys, so we build them from the RustCrypto `rsa` crate's parts.
//! Measured against `openssl genrsa 2048` (see `docs/benchmarks.md`), the `rsa` crate's own
//! `RsaPrivateKey::new` is about 1.7× slower, because it finds `p` and `q` one after the other
//! and sieves candidates only by the primes up to 53 before each costly Miller–Rabin test.
//! Here each worker thread sieves by every odd prime below 2^12 (about 2× fewer candidates
//! reach the probabilistic test) and the threads race: the first two primes found, from any
//! thread, make the key. The primality test itself is the library's (`probably_prime` with
//! 20 Miller–Rabin rounds plus Lucas, as Go and the `rsa` crate use), and the key is assembled
//! and validated by `rsa::RsaPrivateKey::from_p_q`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use num_bigint_dig::BigUint;
use num_bigint_dig::prime::probably_prime;
use rand::RngCore;
use rand::rngs::OsRng;
use rsa::RsaPrivateKey;
use rsa::traits::PublicKeyParts;

use crate::{KeyError, KeySize};

/// The public exponent everyone uses (F4), as OpenSSL does.
const PUBLIC_EXPONENT: u32 = 65_537;

/// How far past a random start the incremental search walks before drawing a new start.
const SEARCH_WINDOW: u32 = 1 << 16;

/// Miller–Rabin rounds; with the Lucas test this is the Baillie–PSW-strength check of Go and `rsa`.
const MILLER_RABIN_ROUNDS: usize = 20;

/// Generates a new RSA private key with public exponent 65537.
pub(crate) fn generate(size: KeySize) -> Result<RsaPrivateKey, KeyError> {
    let prime_bits = size.bits() / 2;
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let stop = Arc::new(AtomicBool::new(false));
    let (found, primes) = mpsc::channel();
    for _ in 0..workers {
        let stop = Arc::clone(&stop);
        let found = found.clone();
        // Detached on purpose: a worker that loses the race notices `stop` at its next
        // candidate and ends on its own, so the caller never waits for the losers.
        std::thread::spawn(move || {
            while let Some(prime) = search_prime(prime_bits, &stop) {
                if found.send(prime).is_err() {
                    break;
                }
            }
        });
    }
    drop(found);

    let receive = || {
        primes.recv().map_err(|_| KeyError::Generation {
            detail: "the prime search stopped unexpectedly".into(),
        })
    };
    let result = (|| loop {
        let p = receive()?;
        let mut q = receive()?;
        while q == p {
            q = receive()?;
        }
        let key = RsaPrivateKey::from_p_q(p, q, BigUint::from(PUBLIC_EXPONENT)).map_err(|e| {
            KeyError::Generation {
                detail: e.to_string(),
            }
        })?;
        // Both primes have their top two bits set, so the product has exactly the asked size;
        // the check stays because a short modulus would be a silent downgrade.
        if key.n().bits() == size.bits() {
            return Ok(key);
        }
    })();
    stop.store(true, Ordering::Relaxed);
    result
}

/// Odd primes below 2^12, for the sieve.
fn small_primes() -> &'static [u32] {
    static PRIMES: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    PRIMES.get_or_init(|| {
        (3u32..4096)
            .step_by(2)
            .filter(|&n| {
                (3..)
                    .step_by(2)
                    .take_while(|d| d * d <= n)
                    .all(|d| n % d != 0)
            })
            .collect()
    })
}

/// Searches a prime of exactly `bits` bits with the top two bits set and `p ≢ 1 (mod 65537)`
/// (so that `e` is invertible), or returns `None` once `stop` is raised.
fn search_prime(bits: usize, stop: &AtomicBool) -> Option<BigUint> {
    let small = small_primes();
    let mut bytes = vec![0u8; bits.div_ceil(8)];
    let top_shift = (bits - 1) % 8; // position of the top bit in the first byte
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        OsRng.fill_bytes(&mut bytes);
        bytes[0] &= u8::MAX >> (7 - top_shift);
        bytes[0] |= 1 << top_shift;
        if top_shift > 0 {
            bytes[0] |= 1 << (top_shift - 1);
        } else {
            bytes[1] |= 0x80;
        }
        if let Some(last) = bytes.last_mut() {
            *last |= 1;
        }
        let start = BigUint::from_bytes_be(&bytes);
        let mut residues: Vec<u32> = small.iter().map(|&p| remainder(&bytes, p)).collect();
        let start_mod_e = remainder(&bytes, PUBLIC_EXPONENT);

        for delta in (0..SEARCH_WINDOW).step_by(2) {
            if residues.iter().all(|&r| r != 0) {
                let candidate = &start + BigUint::from(delta);
                if candidate.bits() != bits {
                    break;
                }
                if (start_mod_e + delta) % PUBLIC_EXPONENT != 1
                    && probably_prime(&candidate, MILLER_RABIN_ROUNDS)
                {
                    return Some(candidate);
                }
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
            }
            for (r, &p) in residues.iter_mut().zip(small) {
                *r += 2;
                if *r >= p {
                    *r -= p;
                }
            }
        }
    }
}

/// `n mod m` for a big-endian number `n` and a small `m`.
fn remainder(big_endian: &[u8], m: u32) -> u32 {
    let m = u64::from(m);
    let r = big_endian
        .iter()
        .fold(0u64, |acc, &b| (acc << 8 | u64::from(b)) % m);
    // The remainder is below `m`, a `u32`.
    r as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PrivateKeyParts;

    #[test]
    fn small_primes_are_the_odd_primes_below_4096() {
        let primes = small_primes();
        assert_eq!(primes.first(), Some(&3));
        assert_eq!(primes.last(), Some(&4093));
        // π(4096) = 564, less the prime 2.
        assert_eq!(primes.len(), 563);
    }

    #[test]
    fn search_finds_a_prime_of_the_exact_size_with_top_bits_set() {
        let stop = AtomicBool::new(false);
        let p = search_prime(512, &stop).expect("not stopped");
        assert_eq!(p.bits(), 512);
        assert_eq!(&p >> 510usize, BigUint::from(3u32), "top two bits set");
        assert!(probably_prime(&p, 20));
        assert_ne!(remainder(&p.to_bytes_be(), PUBLIC_EXPONENT), 1);
    }

    #[test]
    fn remainder_of_big_endian_bytes() {
        assert_eq!(remainder(&[0x01, 0x00], 7), 256 % 7);
        assert_eq!(remainder(&[0xff; 16], 65_537), (u128::MAX % 65_537) as u32);
    }

    #[test]
    fn a_raised_stop_ends_the_search() {
        let stop = AtomicBool::new(true);
        assert!(search_prime(1024, &stop).is_none());
    }

    #[test]
    fn generated_key_is_valid_and_of_the_asked_size() {
        let key = generate(KeySize::Rsa2048).expect("generates");
        assert_eq!(key.n().bits(), 2048);
        assert_eq!(key.e(), &BigUint::from(65_537u32));
        assert_eq!(key.primes().len(), 2);
        key.validate().expect("valid key");
    }
}
