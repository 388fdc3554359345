//! The public half: what the user sends to Kensho, and what a server verifies with.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPublicKey;
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

use crate::{Jwk, KeyError, decode};

/// An RSA public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: RsaPublicKey,
}

impl PublicKey {
    pub(crate) fn from_rsa(inner: RsaPublicKey) -> Self {
        PublicKey { inner }
    }

    /// Reads a public key: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`), PEM or
    /// DER. A private key is accepted too, and its public half is taken.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, KeyError> {
        decode::public_key(input).map(PublicKey::from_rsa)
    }

    /// Reads a public key file, as [`PublicKey::from_pem_or_der`] does; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| KeyError::io(path, e))?;
        Self::from_pem_or_der(&bytes).map_err(|e| e.in_file(path))
    }

    /// Builds a key from the `n` and `e` members of an RSA JWK (base64url, no padding).
    pub fn from_jwk_parts(n: &str, e: &str) -> Result<Self, KeyError> {
        let number = |b64: &str, name: &str| {
            URL_SAFE_NO_PAD
                .decode(b64)
                .map(|bytes| rsa::BigUint::from_bytes_be(&bytes))
                .map_err(|err| KeyError::malformed(format!("JWK member `{name}`: {err}")))
        };
        RsaPublicKey::new(number(n, "n")?, number(e, "e")?)
            .map(PublicKey::from_rsa)
            .map_err(KeyError::malformed)
    }

    /// SPKI PEM (`BEGIN PUBLIC KEY`), byte for byte what `openssl rsa -pubout` prints.
    pub fn to_spki_pem(&self) -> String {
        match self.inner.to_public_key_pem(LineEnding::LF) {
            Ok(pem) => pem,
            Err(e) => unreachable!("encoding a valid RSA public key as SPKI: {e}"),
        }
    }

    /// PKCS#1 `RSAPublicKey` DER, the form ring's `UnparsedPublicKey` verifies RS256 with.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        match self.inner.to_pkcs1_der() {
            Ok(doc) => doc.into_vec(),
            Err(e) => unreachable!("encoding a valid RSA public key as PKCS#1: {e}"),
        }
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bits()
    }

    /// The key as a JSON Web Key for RS256 signatures, with the thumbprint as `kid`.
    pub fn to_jwk(&self) -> Jwk {
        let (n, e) = self.jwk_members();
        Jwk {
            kty: "RSA".into(),
            kid: self.thumbprint(),
            alg: "RS256".into(),
            use_: "sig".into(),
            n,
            e,
        }
    }

    /// The RFC 7638 JWK thumbprint: base64url(SHA-256 of the required members, in
    /// lexicographic order, without white space). We use it as the `kid` of our JWTs.
    pub fn thumbprint(&self) -> String {
        let (n, e) = self.jwk_members();
        let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    fn jwk_members(&self) -> (String, String) {
        (
            URL_SAFE_NO_PAD.encode(self.inner.n().to_bytes_be()),
            URL_SAFE_NO_PAD.encode(self.inner.e().to_bytes_be()),
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 7638 §3.1.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let n = concat!(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt",
            "VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6",
            "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F",
            "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9",
            "1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINH",
            "aQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        );
        let key = PublicKey::from_jwk_parts(n, "AQAB").expect("valid JWK");
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let jwk = key.to_jwk();
        assert_eq!((jwk.n.as_str(), jwk.e.as_str()), (n, "AQAB"));
        assert_eq!(jwk.kid, key.thumbprint());
        assert_eq!(key.bits(), 2048);
    }

    #[test]
    fn bad_jwk_members_are_refused() {
        let err = PublicKey::from_jwk_parts("not base64!", "AQAB").expect_err("refused");
        assert!(err.to_string().contains("JWK member `n`"), "{err}");
    }
}
