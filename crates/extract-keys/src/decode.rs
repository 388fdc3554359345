//! Recognising what a user handed us: PEM or DER, PKCS#8 or PKCS#1, and the many things that
//! look like a key but are not the one we need (encrypted, public, EC, OpenSSH…).

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::der::pem;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, ObjectIdentifier, PrivateKeyInfo};
use rsa::{RsaPrivateKey, RsaPublicKey};
use zeroize::Zeroizing;

use crate::KeyError;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Algorithms users are likely to hand us by mistake, by PKCS#8 OID.
const OTHER_ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.10045.2.1", "EC"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.3.101.110", "X25519"),
    ("1.2.840.10040.4.1", "DSA"),
    ("1.2.840.113549.1.1.10", "RSA-PSS"),
];

/// DER prefixes of the password-based-encryption OIDs (PKCS#5 `1.2.840.113549.1.5.*` and
/// PKCS#12 `1.2.840.113549.1.12.1.*`) that open an encrypted PKCS#8 structure.
const ENCRYPTION_OID_PREFIXES: &[&[u8]] = &[
    &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05],
    &[
        0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01,
    ],
];

/// What kind of key an input holds, once its armour is off.
enum Encoding {
    Pkcs8(Zeroizing<Vec<u8>>),
    Pkcs1(Zeroizing<Vec<u8>>),
    SpkiPublic(Vec<u8>),
    Pkcs1Public(Vec<u8>),
    /// DER of unknown structure: every parser is tried in turn.
    Der(Zeroizing<Vec<u8>>),
}

/// Reads an RSA private key from PEM or DER bytes.
pub(crate) fn private_key(input: &[u8]) -> Result<RsaPrivateKey, KeyError> {
    let key = match classify(input)? {
        Encoding::Pkcs8(der) => pkcs8_private(&der)?,
        Encoding::Pkcs1(der) => RsaPrivateKey::from_pkcs1_der(&der).map_err(KeyError::malformed)?,
        Encoding::SpkiPublic(_) | Encoding::Pkcs1Public(_) => {
            return Err(KeyError::NotPrivate { what: "public key" });
        }
        Encoding::Der(der) => der_private(&der)?,
    };
    Ok(key)
}

/// Reads an RSA public key (SPKI or PKCS#1, PEM or DER), or the public half of a private key.
pub(crate) fn public_key(input: &[u8]) -> Result<RsaPublicKey, KeyError> {
    match classify(input)? {
        Encoding::SpkiPublic(der) => {
            RsaPublicKey::from_public_key_der(&der).map_err(KeyError::malformed)
        }
        Encoding::Pkcs1Public(der) => {
            RsaPublicKey::from_pkcs1_der(&der).map_err(KeyError::malformed)
        }
        Encoding::Der(der) => RsaPublicKey::from_public_key_der(&der)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
            .or_else(|_| der_private(&der).map(|k| k.to_public_key())),
        Encoding::Pkcs8(der) => pkcs8_private(&der).map(|k| k.to_public_key()),
        Encoding::Pkcs1(der) => RsaPrivateKey::from_pkcs1_der(&der)
            .map(|k| k.to_public_key())
            .map_err(KeyError::malformed),
    }
}

fn classify(input: &[u8]) -> Result<Encoding, KeyError> {
    // DER is binary: every byte counts, trailing 0x0A or 0x20 included. Only PEM, which is
    // text, is trimmed of the white space editors add around it.
    if input.first() == Some(&0x30) {
        return Ok(Encoding::Der(Zeroizing::new(input.to_vec())));
    }
    let trimmed = input.trim_ascii();
    if trimmed.is_empty() {
        return Err(KeyError::Empty);
    }
    match find(trimmed, b"-----BEGIN ") {
        Some(start) => classify_pem(&trimmed[start..]),
        None => Err(KeyError::malformed("neither PEM text nor DER data")),
    }
}

fn classify_pem(text: &[u8]) -> Result<Encoding, KeyError> {
    let label_end = find(&text[11..], b"-----")
        .ok_or_else(|| KeyError::malformed("a PEM header without its closing dashes"))?;
    let label = String::from_utf8_lossy(&text[11..11 + label_end]).into_owned();
    match label.as_str() {
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
        "RSA PRIVATE KEY" if find(text, b"Proc-Type: 4,ENCRYPTED").is_some() => {
            return Err(KeyError::Encrypted);
        }
        "EC PRIVATE KEY" => {
            return Err(KeyError::NotRsa {
                algorithm: "EC".into(),
            });
        }
        "DSA PRIVATE KEY" => {
            return Err(KeyError::NotRsa {
                algorithm: "DSA".into(),
            });
        }
        "OPENSSH PRIVATE KEY" => {
            return Err(KeyError::malformed(
                "an OpenSSH key; convert it with `ssh-keygen -p -m PKCS8 -f KEY`",
            ));
        }
        "CERTIFICATE" => {
            return Err(KeyError::NotPrivate {
                what: "certificate",
            });
        }
        _ => {}
    }
    let (_, der) =
        pem::decode_vec(text).map_err(|e| KeyError::malformed(format!("bad PEM: {e}")))?;
    let der = Zeroizing::new(der);
    match label.as_str() {
        "PRIVATE KEY" => Ok(Encoding::Pkcs8(der)),
        "RSA PRIVATE KEY" => Ok(Encoding::Pkcs1(der)),
        "PUBLIC KEY" => Ok(Encoding::SpkiPublic(der.to_vec())),
        "RSA PUBLIC KEY" => Ok(Encoding::Pkcs1Public(der.to_vec())),
        other => Err(KeyError::malformed(format!(
            "unexpected PEM label `{other}`"
        ))),
    }
}

fn pkcs8_private(der: &[u8]) -> Result<RsaPrivateKey, KeyError> {
    let info = PrivateKeyInfo::try_from(der).map_err(KeyError::malformed)?;
    let oid = info.algorithm.oid;
    if oid != RSA_ENCRYPTION {
        let oid = oid.to_string();
        let algorithm = OTHER_ALGORITHMS
            .iter()
            .find(|(known, _)| *known == oid)
            .map_or_else(
                || format!("unknown-algorithm ({oid})"),
                |(_, name)| (*name).to_string(),
            );
        return Err(KeyError::NotRsa { algorithm });
    }
    RsaPrivateKey::from_pkcs8_der(der).map_err(KeyError::malformed)
}

/// DER without a label: PKCS#8 first (what OpenSSL 3 writes), then PKCS#1, then the look-alikes.
fn der_private(der: &[u8]) -> Result<RsaPrivateKey, KeyError> {
    if PrivateKeyInfo::try_from(der).is_ok() {
        return pkcs8_private(der);
    }
    if let Ok(key) = RsaPrivateKey::from_pkcs1_der(der) {
        return Ok(key);
    }
    if RsaPublicKey::from_public_key_der(der).is_ok() || RsaPublicKey::from_pkcs1_der(der).is_ok() {
        return Err(KeyError::NotPrivate { what: "public key" });
    }
    let head = &der[..der.len().min(32)];
    if ENCRYPTION_OID_PREFIXES
        .iter()
        .any(|prefix| find(head, prefix).is_some())
    {
        return Err(KeyError::Encrypted);
    }
    Err(KeyError::malformed("DER data that is no RSA private key"))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
