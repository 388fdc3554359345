//! The RS256 client assertion Okta's `private_key_jwt` client authentication takes.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use extract_keys::PrivateKey;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use crate::ring_provider::RsaSigner;
use crate::{AuthError, Secret};

/// Okta refuses assertions that live longer than an hour.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Signs client assertions for one client: `iss` = `sub` = the client id, `aud` = the token URL
/// exactly, `iat` backdated for clock skew, a short `exp`, a fresh UUID `jti`, and the key's
/// RFC 7638 thumbprint as `kid`. Every call to [`ClientAssertion::sign`] makes a new one.
///
/// The JWT is made by jsonwebtoken and signed by ring (see [`crate::ring_provider`]).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use extract_auth::ClientAssertion;
/// use extract_keys::{KeySize, PrivateKey};
///
/// let key = PrivateKey::generate(KeySize::Rsa2048)?;
/// let signer = ClientAssertion::new(&key, "0oa1client", "https://kensho.okta.com/oauth2/default/v1/token");
/// let jwt = signer.sign()?;
/// assert_eq!(jwt.expose().split('.').count(), 3);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ClientAssertion {
    /// The key, parsed once (ring validates a key on each parse); never printed.
    signer: Result<RsaSigner, Arc<jsonwebtoken::errors::Error>>,
    kid: String,
    client_id: String,
    audience: String,
    lifetime: Duration,
    backdate: Duration,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

impl ClientAssertion {
    /// An assertion signer with a 5-minute lifetime and `iat` backdated by 10 seconds.
    pub fn new(
        key: &PrivateKey,
        client_id: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        // The DER is zeroized once parsed; ring keeps the key in its own structure.
        let der = key.to_pkcs1_der();
        ClientAssertion {
            signer: RsaSigner::new(Algorithm::RS256, &der).map_err(Arc::new),
            kid: key.public_key().thumbprint(),
            client_id: client_id.into(),
            audience: token_url.into(),
            lifetime: Duration::from_secs(5 * 60),
            backdate: Duration::from_secs(10),
        }
    }

    /// Sets how long each assertion is valid (`exp - iat`); at most 60 minutes.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Result<Self, AuthError> {
        if lifetime > MAX_ASSERTION_LIFETIME || lifetime.is_zero() {
            return Err(AuthError::Config(format!(
                "a client assertion must live between 1 second and 60 minutes, not {lifetime:?}"
            )));
        }
        self.lifetime = lifetime;
        Ok(self)
    }

    /// The client id the assertions speak for.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Signs a new assertion.
    pub fn sign(&self) -> Result<Secret, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let iat = now.saturating_sub(self.backdate.as_secs());
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.client_id,
            aud: &self.audience,
            iat,
            exp: iat + self.lifetime.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let signer = self
            .signer
            .as_ref()
            .map_err(|e| AuthError::Signing(e.clone()))?;
        signer
            .encode(&header, &claims)
            .map(Secret::new)
            .map_err(|e| AuthError::Signing(Arc::new(e)))
    }
}

impl fmt::Debug for ClientAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertion")
            .field("client_id", &self.client_id)
            .field("audience", &self.audience)
            .field("kid", &self.kid)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use extract_keys::KeySize;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn claims_header_and_freshness() {
        // Verifying here goes through jsonwebtoken, which needs a process-wide provider.
        crate::ring_provider::install();
        let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
        let url = "https://kensho.okta.com/oauth2/default/v1/token";
        let signer = ClientAssertion::new(&key, "0oaCLIENT", url);
        let first = signer.sign().expect("signs");
        let second = signer.sign().expect("signs");
        assert_ne!(first, second, "a new assertion every time");

        let header = jsonwebtoken::decode_header(first.expose()).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(
            header.kid.as_deref(),
            Some(key.public_key().thumbprint().as_str())
        );

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[url]);
        validation.set_issuer(&["0oaCLIENT"]);
        let decoding = DecodingKey::from_rsa_der(&key.public_key().to_pkcs1_der());
        let claims =
            jsonwebtoken::decode::<serde_json::Value>(first.expose(), &decoding, &validation)
                .expect("verifies")
                .claims;
        assert_eq!(claims["sub"], "0oaCLIENT");
        let (iat, exp) = (
            claims["iat"].as_u64().expect("iat"),
            claims["exp"].as_u64().expect("exp"),
        );
        assert_eq!(exp - iat, 300);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("now")
            .as_secs();
        assert!(
            iat <= now - 9 && iat >= now - 12,
            "backdated ~10 s: iat {iat}, now {now}"
        );
        uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).expect("a UUID jti");
        assert!(
            !format!("{signer:?}").contains("BEGIN"),
            "Debug shows no key"
        );
    }

    #[test]
    fn lifetime_is_capped_at_an_hour() {
        let key = PrivateKey::generate(KeySize::Rsa2048).expect("key");
        let signer = ClientAssertion::new(&key, "c", "https://t");
        assert!(
            signer
                .clone()
                .with_lifetime(Duration::from_secs(3600))
                .is_ok()
        );
        assert!(
            signer
                .clone()
                .with_lifetime(Duration::from_secs(3601))
                .is_err()
        );
        assert!(signer.with_lifetime(Duration::ZERO).is_err());
    }
}
