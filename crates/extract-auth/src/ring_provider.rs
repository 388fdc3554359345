//! A jsonwebtoken `CryptoProvider` on ring, so that JWTs use the same crypto as TLS.
//!
//! jsonwebtoken ships providers for aws-lc-rs and RustCrypto only; enabling either would add a
//! second crypto stack to the build just for signing. This one covers the RSA (RS*, PS*) and
//! HMAC (HS*) algorithms; EC and EdDSA answer `UnsupportedAlgorithm`.
//!
//! Nothing here is process-wide: this crate never installs the provider (an application may,
//! with [`install`]); [`crate::ClientAssertion`] parses its key once and signs with
//! [`RsaSigner`] directly, so no cache of private keys outlives the values that own them.

use std::sync::Arc;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, new_error};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::{digest, hmac, signature as sig};

type JwtResult<T> = jsonwebtoken::errors::Result<T>;

/// The provider; [`install`] makes it jsonwebtoken's process default.
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: rsa_components_from_public_key,
        ec_pub_components_from_private_key: |_, _| Err(new_error(ErrorKind::UnsupportedAlgorithm)),
        ed_pub_components_from_private_key: |_, _: &EllipticCurve| {
            Err(new_error(ErrorKind::UnsupportedAlgorithm))
        },
        compute_digest,
    },
};

/// Makes ring jsonwebtoken's process-wide provider, unless one is installed already. For
/// applications that call jsonwebtoken themselves; this crate never calls it.
pub fn install() {
    if CryptoProvider::try_get_default().is_none() {
        let _ = RING_PROVIDER.install_default();
    }
}

/// Parses an RSA private key (PKCS#1 DER, or PKCS#8). ring validates the key here, which
/// costs about as much as a signature: parse once, sign many times.
fn rsa_key_pair(der: &[u8]) -> JwtResult<Arc<sig::RsaKeyPair>> {
    let pair = sig::RsaKeyPair::from_der(der)
        .or_else(|_| sig::RsaKeyPair::from_pkcs8(der))
        .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))?;
    Ok(Arc::new(pair))
}

/// An RSA key parsed once, signing JWTs with one algorithm.
#[derive(Clone)]
pub struct RsaSigner {
    algorithm: Algorithm,
    encoding: &'static dyn sig::RsaEncoding,
    key: Arc<sig::RsaKeyPair>,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaSigner")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl RsaSigner {
    /// A signer for `algorithm` (RS256/384/512, PS256/384/512) from a PKCS#1 or PKCS#8 DER key.
    pub fn new(algorithm: Algorithm, der: &[u8]) -> JwtResult<RsaSigner> {
        let encoding =
            rsa_encoding(algorithm).ok_or_else(|| new_error(ErrorKind::UnsupportedAlgorithm))?;
        Ok(RsaSigner {
            algorithm,
            encoding,
            key: rsa_key_pair(der)?,
        })
    }

    /// A compact JWT of `header` and `claims`, signed (jsonwebtoken's `encode`, without its
    /// process-wide provider).
    pub fn encode<T: serde::Serialize>(
        &self,
        header: &jsonwebtoken::Header,
        claims: &T,
    ) -> JwtResult<String> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        if header.alg != self.algorithm {
            return Err(new_error(ErrorKind::InvalidAlgorithm));
        }
        let message = format!("{}.{}", json_part(header)?, json_part(claims)?);
        let signature = self
            .try_sign(message.as_bytes())
            .map_err(|e| new_error(ErrorKind::Signing(e.to_string())))?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// One part of a compact JWT: the value's JSON, base64url without padding.
fn json_part<T: serde::Serialize + ?Sized>(value: &T) -> JwtResult<String> {
    use base64::Engine;
    let json = serde_json::to_vec(value).map_err(|e| new_error(ErrorKind::Json(Arc::new(e))))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json))
}

impl Signer<Vec<u8>> for RsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(self.encoding, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| signature::Error::new())?;
        Ok(signature)
    }
}

impl JwtSigner for RsaSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

struct HmacSigner {
    algorithm: Algorithm,
    key: hmac::Key,
}

impl Signer<Vec<u8>> for HmacSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(hmac::sign(&self.key, message).as_ref().to_vec())
    }
}

impl JwtSigner for HmacSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

impl Verifier<Vec<u8>> for HmacSigner {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        hmac::verify(&self.key, message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for HmacSigner {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn rsa_encoding(algorithm: Algorithm) -> Option<&'static dyn sig::RsaEncoding> {
    Some(match algorithm {
        Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn hmac_algorithm(algorithm: Algorithm) -> Option<hmac::Algorithm> {
    match algorithm {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> JwtResult<Box<dyn JwtSigner>> {
    let algorithm = *algorithm;
    if let Some(encoding) = rsa_encoding(algorithm) {
        let key = rsa_key_pair(key.as_bytes())?;
        return Ok(Box::new(RsaSigner {
            algorithm,
            encoding,
            key,
        }));
    }
    if let Some(hmac_alg) = hmac_algorithm(algorithm) {
        return Ok(Box::new(HmacSigner {
            algorithm,
            key: hmac::Key::new(hmac_alg, key.as_bytes()),
        }));
    }
    Err(new_error(ErrorKind::UnsupportedAlgorithm))
}

struct RsaVerifier {
    algorithm: Algorithm,
    parameters: &'static sig::RsaParameters,
    key: DecodingKeyKind,
}

impl Verifier<Vec<u8>> for RsaVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        match &self.key {
            DecodingKeyKind::SecretOrDer(der) => sig::UnparsedPublicKey::new(self.parameters, der)
                .verify(message, signature)
                .map_err(|_| signature::Error::new()),
            DecodingKeyKind::RsaModulusExponent { n, e } => sig::RsaPublicKeyComponents { n, e }
                .verify(self.parameters, message, signature)
                .map_err(|_| signature::Error::new()),
        }
    }
}

impl JwtVerifier for RsaVerifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> JwtResult<Box<dyn JwtVerifier>> {
    let algorithm = *algorithm;
    let parameters: &'static sig::RsaParameters = match algorithm {
        Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        _ => {
            let hmac_alg = hmac_algorithm(algorithm)
                .ok_or_else(|| new_error(ErrorKind::UnsupportedAlgorithm))?;
            let secret = key.try_get_as_bytes()?;
            return Ok(Box::new(HmacSigner {
                algorithm,
                key: hmac::Key::new(hmac_alg, secret),
            }));
        }
    };
    Ok(Box::new(RsaVerifier {
        algorithm,
        parameters,
        key: key.kind().clone(),
    }))
}

fn rsa_components_from_private_key(der: &[u8]) -> JwtResult<(Vec<u8>, Vec<u8>)> {
    let pair = rsa_key_pair(der)?;
    let components = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((components.n, components.e))
}

fn rsa_components_from_public_key(der: &[u8]) -> JwtResult<(Vec<u8>, Vec<u8>)> {
    let key = extract_keys::PublicKey::from_pem_or_der(der)
        .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))?;
    let jwk = key.to_jwk();
    let decode = |b64: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|e| new_error(ErrorKind::InvalidRsaKey(e.to_string())))
    };
    Ok((decode(&jwk.n)?, decode(&jwk.e)?))
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> JwtResult<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(new_error(ErrorKind::UnsupportedAlgorithm)),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use extract_keys::{KeySize, PrivateKey};
    use jsonwebtoken::{Header, Validation};

    #[test]
    fn signs_and_verifies_rs256_and_hs256() {
        install();
        let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_der(&key.to_pkcs1_der()),
        )
        .expect("signs");
        let decoding = DecodingKey::from_rsa_der(&key.public_key().to_pkcs1_der());
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &decoding,
            &Validation::new(Algorithm::RS256),
        )
        .expect("verifies");
        assert_eq!(data.claims["sub"], "x");

        let other = PrivateKey::generate(KeySize::Rsa2048).expect("key");
        let wrong = DecodingKey::from_rsa_der(&other.public_key().to_pkcs1_der());
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &token,
                &wrong,
                &Validation::new(Algorithm::RS256)
            )
            .is_err()
        );

        let secret = EncodingKey::from_secret(b"s3cret").expect("hmac key");
        let hs =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &secret).expect("signs");
        let decoding = DecodingKey::from_secret(b"s3cret").expect("hmac key");
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &hs,
                &decoding,
                &Validation::new(Algorithm::HS256)
            )
            .is_ok()
        );

        let (n, e) = rsa_components_from_private_key(&key.to_pkcs1_der()).expect("components");
        assert_eq!((n.len(), e.as_slice()), (256, &[1u8, 0, 1][..]));
        let (n2, e2) =
            rsa_components_from_public_key(&key.public_key().to_pkcs1_der()).expect("components");
        assert_eq!((n2, e2), (n, e));
    }

    #[test]
    fn ec_is_unsupported_not_a_panic() {
        install();
        let err = new_signer(&Algorithm::ES256, &EncodingKey::from_ec_der(b"x"))
            .err()
            .expect("unsupported");
        assert!(matches!(err.kind(), ErrorKind::UnsupportedAlgorithm));
    }
}
