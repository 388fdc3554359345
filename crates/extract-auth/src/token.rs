//! An access token and what is known of its expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::Secret;

/// The longest a token is believed to live, whatever its issuer says.
///
/// An expiry comes from a server's number (`expires_in`, a JWT's `exp`); one past this bound is
/// a mistake or an attack, and believing it would keep a token cached long after it stopped
/// working, or overflow the clock's arithmetic. Okta's access tokens live an hour; a token
/// said to live longer is renewed after a day, which costs one exchange.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

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
///
/// `exp` is any JSON number (RFC 7519 allows fractions); one in the past is an expired token,
/// one further ahead than [`MAX_TOKEN_LIFETIME`] (`u64::MAX` included) counts as that far.
pub(crate) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    #[derive(Deserialize)]
    struct Exp {
        exp: Option<serde_json::Value>,
    }
    let claims: Exp = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    let exp = claims.exp?.as_f64()?;
    let latest = latest_expiry();
    Some(match Duration::try_from_secs_f64(exp) {
        Ok(since_epoch) => UNIX_EPOCH
            .checked_add(since_epoch)
            .map_or(latest, |at| at.min(latest)),
        // Before 1970: long expired.
        Err(_) if exp < 0.0 => UNIX_EPOCH,
        Err(_) => latest,
    })
}

/// When a token said to live `seconds` from now expires: `expires_in` read leniently (any JSON
/// number, or a string of one, as some servers send), clamped to `[0, MAX_TOKEN_LIFETIME]`.
/// `None` when it is not a number at all, so the expiry is read elsewhere or unknown.
pub(crate) fn expiry_in(expires_in: &serde_json::Value) -> Option<SystemTime> {
    let seconds = match expires_in {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if seconds.is_nan() {
        return None;
    }
    let lifetime =
        Duration::try_from_secs_f64(seconds.clamp(0.0, MAX_TOKEN_LIFETIME.as_secs_f64()))
            .unwrap_or(MAX_TOKEN_LIFETIME);
    let now = SystemTime::now();
    Some(now.checked_add(lifetime).unwrap_or(now))
}

/// Now plus [`MAX_TOKEN_LIFETIME`] (now itself on a clock that cannot add a day).
fn latest_expiry() -> SystemTime {
    let now = SystemTime::now();
    now.checked_add(MAX_TOKEN_LIFETIME).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exp_from_a_jwt_and_nothing_from_an_opaque_token() {
        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = |exp: u64| {
            let claims = format!(r#"{{"exp":{exp}}}"#);
            format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(&claims))
        };
        let in_an_hour = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
            + 3600;
        let token = Token::from_jwt_or_opaque(Secret::new(jwt(in_an_hour)));
        assert_eq!(
            token.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(in_an_hour))
        );
        // Years ahead: believed for a day at most.
        let far = Token::from_jwt_or_opaque(Secret::new(jwt(in_an_hour + 10 * 365 * 86_400)));
        let left = far.remaining().expect("known");
        assert!(left <= MAX_TOKEN_LIFETIME && left > MAX_TOKEN_LIFETIME - Duration::from_secs(60));
        assert_eq!(
            Token::from_jwt_or_opaque(Secret::new("opaque")).expires_at(),
            None
        );
    }
}
