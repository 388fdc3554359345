//! Compact JWS (JWT) parsing, RS256 verification and signing with ring.
//!
//! Hand-written rather than a JWT library on purpose: the emulator must see, and reject, what a
//! lenient library would quietly accept or normalise (`alg: none`, HS256 with a public key as
//! the secret, a missing `kid`), so it reads the raw header and claims itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use serde_json::{Map, Value};

use extract_keys::{KeySize, PrivateKey};

/// A decoded, not yet verified, JWT.
#[derive(Debug)]
pub(crate) struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// Splits and decodes a compact JWT; `None` when it is not one.
    pub(crate) fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let object = |part: &str| -> Option<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                Value::Object(map) => Some(map),
                _ => None,
            }
        };
        Some(Jwt {
            header: object(header)?,
            claims: object(claims)?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        })
    }

    /// The `alg` header, if it is a string.
    pub(crate) fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// Checks an RS256 signature against a PKCS#1 `RSAPublicKey` DER.
    pub(crate) fn verify_rs256(&self, public_pkcs1_der: &[u8]) -> bool {
        self.alg() == Some("RS256")
            && UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_pkcs1_der)
                .verify(self.signing_input.as_bytes(), &self.signature)
                .is_ok()
    }

    /// An integer claim such as `exp` or `iat`.
    pub(crate) fn int_claim(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// A string claim such as `iss` or `sub`.
    pub(crate) fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// The emulator's own token-signing key, made fresh at every start.
pub(crate) struct Signer {
    key_pair: RsaKeyPair,
    public_pkcs1_der: Vec<u8>,
    kid: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub(crate) fn generate() -> Result<Self, String> {
        let key = PrivateKey::generate(KeySize::Rsa2048).map_err(|e| e.to_string())?;
        let public = key.public_key();
        let key_pair = RsaKeyPair::from_pkcs8(&key.to_pkcs8_der()).map_err(|e| e.to_string())?;
        Ok(Signer {
            key_pair,
            public_pkcs1_der: public.to_pkcs1_der(),
            kid: public.thumbprint(),
            rng: SystemRandom::new(),
        })
    }

    /// Signs `claims` as an RS256 JWT with this key's `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        // Signing with a valid key into a buffer of the modulus length only fails if the
        // system random source fails, which ring treats as fatal too.
        if let Err(e) = self.key_pair.sign(
            &RSA_PKCS1_SHA256,
            &self.rng,
            input.as_bytes(),
            &mut signature,
        ) {
            panic!("RSA signing failed: {e}");
        }
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Parses `token` and checks that this key signed it.
    pub(crate) fn verify(&self, token: &str) -> Option<Jwt> {
        Jwt::parse(token).filter(|jwt| jwt.verify_rs256(&self.public_pkcs1_der))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering() {
        let signer = Signer::generate().expect("key");
        let token = signer.sign(&serde_json::json!({"sub": "me", "exp": 10}));
        let jwt = signer.verify(&token).expect("valid");
        assert_eq!(jwt.str_claim("sub"), Some("me"));
        assert_eq!(jwt.int_claim("exp"), Some(10));
        assert_eq!(jwt.alg(), Some("RS256"));

        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"admin","exp":10}"#);
        parts[1] = &forged;
        assert!(signer.verify(&parts.join(".")).is_none());
        assert!(Jwt::parse("a.b").is_none());
        assert!(Jwt::parse("not a jwt at all").is_none());
    }
}
