//! Secrets that never print.

use std::fmt;
use std::sync::Arc;

use zeroize::Zeroizing;

/// A secret string (an access token, a refresh token, a client assertion).
///
/// `Debug` and `Display` print `[redacted]`; the text is reachable only through
/// [`Secret::expose`], and is zeroized when the last clone is dropped. Clones are cheap.
///
/// ```
/// use extract_auth::Secret;
/// let token = Secret::new("eyJhbGciOi…");
/// assert_eq!(format!("{token:?}"), "Secret([redacted])");
/// assert_eq!(token.expose(), "eyJhbGciOi…");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<Zeroizing<String>>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(Arc::new(Zeroizing::new(secret.into())))
    }

    /// The secret text, for the one place that must send or print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
