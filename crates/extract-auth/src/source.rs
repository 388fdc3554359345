//! The seam every layer above depends on: something that hands out access tokens.

use async_trait::async_trait;

use crate::{AuthError, Token};

/// Something that hands out access tokens.
///
/// The raw sources ([`crate::KeypairSource`], [`crate::RefreshTokenSource`],
/// [`crate::GivenToken`]) do one exchange per call; wrap them in [`crate::CachedTokenSource`]
/// for caching, refresh ahead of expiry, single flight and retries. With the `mock` feature,
/// `MockTokenSource` (mockall) stands in for any of them in tests.
///
/// Sources are `Debug` (printing no secret), so a program can log what it is configured with.
/// `Arc<T>` and `Box<T>` of a source are sources too (`Arc<dyn TokenSource>` included).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// An access token to send now.
    async fn token(&self) -> Result<Token, AuthError>;

    /// Forgets the current token, after the API answered 401 with it.
    fn invalidate(&self) {}

    /// The API answered 401 to a request that carried `token`: forget it, so that the next
    /// call gets another. Unlike [`TokenSource::invalidate`], a token that is no longer the
    /// current one (another caller was refused first and already got a new one) is not
    /// forgotten again, so many requests refused together cause one exchange, not one each.
    /// By default, [`TokenSource::invalidate`].
    fn refused(&self, token: &Token) {
        let _ = token;
        self.invalidate();
    }

    /// How the tokens are obtained, for people: `keypair`, `refresh token`, `access token`.
    fn method(&self) -> &'static str;
}

#[async_trait]
impl<T: TokenSource + ?Sized> TokenSource for std::sync::Arc<T> {
    async fn token(&self) -> Result<Token, AuthError> {
        (**self).token().await
    }

    fn invalidate(&self) {
        (**self).invalidate();
    }

    fn refused(&self, token: &Token) {
        (**self).refused(token);
    }

    fn method(&self) -> &'static str {
        (**self).method()
    }
}

#[async_trait]
impl<T: TokenSource + ?Sized> TokenSource for Box<T> {
    async fn token(&self) -> Result<Token, AuthError> {
        (**self).token().await
    }

    fn invalidate(&self) {
        (**self).invalidate();
    }

    fn refused(&self, token: &Token) {
        (**self).refused(token);
    }

    fn method(&self) -> &'static str {
        (**self).method()
    }
}
