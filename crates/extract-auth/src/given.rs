//! An access token the user pasted: used as is until the API rejects it.

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::{AuthError, Secret, Token, TokenSource};

/// A token given directly (`KENSHO_ACCESS_TOKEN`). Its expiry is read from its `exp` when it
/// is a JWT (at most [`crate::MAX_TOKEN_LIFETIME`] ahead). After [`TokenSource::invalidate`] or
/// [`TokenSource::refused`] (the API said 401) it is not offered again: only the user can get
/// a new one.
#[derive(Debug)]
pub struct GivenToken {
    token: Token,
    rejected: AtomicBool,
}

impl GivenToken {
    /// Wraps a pasted access token.
    pub fn new(access_token: Secret) -> Self {
        GivenToken {
            token: Token::from_jwt_or_opaque(access_token),
            rejected: AtomicBool::new(false),
        }
    }
}

#[async_trait]
impl TokenSource for GivenToken {
    async fn token(&self) -> Result<Token, AuthError> {
        if self.rejected.load(Ordering::Relaxed) {
            return Err(AuthError::GivenTokenRejected);
        }
        Ok(self.token.clone())
    }

    fn invalidate(&self) {
        self.rejected.store(true, Ordering::Relaxed);
    }

    fn method(&self) -> &'static str {
        "access token"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn served_until_rejected() {
        let given = GivenToken::new(Secret::new("abc"));
        assert_eq!(given.token().await.expect("token").secret().expose(), "abc");
        given.invalidate();
        assert!(matches!(
            given.token().await,
            Err(AuthError::GivenTokenRejected)
        ));
    }
}
