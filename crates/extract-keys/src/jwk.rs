//! The JSON Web Key form of a public key (RFC 7517).

use serde::{Deserialize, Serialize};

/// An RSA public key as a JWK, ready to serialize, for a JWKS document or a key registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Always `RSA`.
    pub kty: String,
    /// The key id: the RFC 7638 thumbprint.
    pub kid: String,
    /// The signing algorithm the key is for: `RS256`.
    pub alg: String,
    /// The key use: `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// The modulus, base64url without padding.
    pub n: String,
    /// The public exponent, base64url without padding.
    pub e: String,
}
