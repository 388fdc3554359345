//! An access token and what is known of its expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::Secret;

/// An access token, as a token source hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    access_token: Secret,
    expires_at: Option<SystemTime>,
}

impl Token {
    /// A token that expires at `expires_at` (wall clock), if known.
    pub fn new(access_token: Secret, expires_at: Option<SystemTime>) -> Self {
        Token {
            access_token,
            expires_at,
        }
    }

    /// A token whose expiry is read from its own `exp` claim when it is a JWT (decoded without
    /// verification: only the issuer can verify it, and we only want to know when to renew).
    pub fn from_jwt_or_opaque(access_token: Secret) -> Self {
        let expires_at = jwt_expiry(access_token.expose());
        Token::new(access_token, expires_at)
    }

    /// The secret to send as `Authorization: Bearer …`.
    pub fn secret(&self) -> &Secret {
        &self.access_token
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// How long the token has left, if known (zero once expired).
    pub fn remaining(&self) -> Option<Duration> {
        self.expires_at.map(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }
}

/// The `exp` of a JWT, decoded without verification; `None` for anything else.
pub(crate) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    #[derive(Deserialize)]
    struct Exp {
        exp: Option<u64>,
    }
    let claims: Exp = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(claims.exp?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exp_from_a_jwt_and_nothing_from_an_opaque_token() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"exp":2000000000}"#)
        );
        let token = Token::from_jwt_or_opaque(Secret::new(jwt));
        assert_eq!(
            token.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        assert_eq!(
            Token::from_jwt_or_opaque(Secret::new("opaque")).expires_at(),
            None
        );
    }
}
