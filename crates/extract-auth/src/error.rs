//! The one error type of this crate.

use std::sync::Arc;
use std::time::Duration;

use extract_keys::KeyError;

use crate::ErrorKind;

/// A cause kept inside an error that is cloned (a failed refresh is shared by its waiters).
pub type SharedError = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong while getting an access token, by phase; never carries a secret.
///
/// [`AuthError::kind`] says what kind of failure it is. Its `Display` is this level's message;
/// the cause, when there is one, is `source()` (print the chain with [`crate::Chain`]).
///
/// It is `Clone` so that one failed refresh can be handed to every caller that waited for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No authentication method is configured.
    #[error(
        "no Kensho credentials: set KENSHO_ACCESS_TOKEN, or KENSHO_CLIENT_ID with KENSHO_PRIVATE_KEY (and KENSHO_TOKEN_URL), or KENSHO_REFRESH_TOKEN"
    )]
    NotConfigured,
    /// A setting is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// A URL that would send secrets in the clear.
    #[error("the {what} must use https:// (plain http:// only for localhost): {url}")]
    #[non_exhaustive]
    InsecureUrl {
        /// Which URL.
        what: &'static str,
        /// The URL, its query removed.
        url: String,
    },
    /// The private key could not be used.
    #[error(transparent)]
    Key(Arc<KeyError>),
    /// The client assertion could not be made.
    #[error("could not sign the client assertion")]
    Signing(#[source] SharedError),
    /// No answer: the connection failed or broke.
    #[error("could not reach {url}")]
    #[non_exhaustive]
    Connect {
        /// The URL, its query redacted.
        url: String,
        /// What failed (for reqwest errors, without the URL, which may carry a secret).
        #[source]
        source: SharedError,
    },
    /// No answer in time.
    #[error("{url} did not answer within {:.1}s", after.as_secs_f64())]
    #[non_exhaustive]
    Timeout {
        /// The URL, its query redacted.
        url: String,
        /// The time allowed.
        after: Duration,
    },
    /// The token endpoint refused with an OAuth error (`invalid_client`, `invalid_scope`…).
    #[error("the token endpoint refused (HTTP {status}): {error}: {description}")]
    #[non_exhaustive]
    OAuth {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code.
        error: String,
        /// The `error_description`, verbatim.
        description: String,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// Another refusal, with the body text the server sent.
    #[error("{url} answered HTTP {status}: {body}")]
    #[non_exhaustive]
    Rejected {
        /// The URL, its query redacted.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body text (cut at 1,000 characters).
        body: String,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// A 2xx answer that is not a token response.
    #[error("{url} answered with something that is not a token response: {detail}")]
    #[non_exhaustive]
    BadResponse {
        /// The URL, its query redacted.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A given access token was rejected by the API; only a new one helps.
    #[error(
        "the access token given in KENSHO_ACCESS_TOKEN was rejected; get a new one from your Kensho account page"
    )]
    GivenTokenRejected,
}

impl AuthError {
    /// The token endpoint's OAuth refusal (`invalid_client`, `invalid_grant`…), as a token
    /// source reports it: for mocks and programs' own token sources (the variant cannot be
    /// built outside this crate).
    pub fn oauth(status: u16, error: impl Into<String>, description: impl Into<String>) -> Self {
        AuthError::OAuth {
            status,
            error: error.into(),
            description: description.into(),
            retry_after: None,
        }
    }

    /// An answer of the token endpoint that is not an OAuth error, with its status and body.
    pub fn rejected(url: impl Into<String>, status: u16, body: impl Into<String>) -> Self {
        AuthError::Rejected {
            url: url.into(),
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    /// What kind of failure this is: what a program matches on. A refusal by the token
    /// endpoint is [`ErrorKind::Unauthorized`] (the credentials are not accepted), unless it
    /// asks to slow down (429) or failed itself (5xx).
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::NotConfigured | AuthError::Config(_) | AuthError::InsecureUrl { .. } => {
                ErrorKind::Config
            }
            AuthError::Key(_) | AuthError::Signing(_) => ErrorKind::Key,
            AuthError::Connect { .. } => ErrorKind::Connect,
            AuthError::Timeout { .. } => ErrorKind::Timeout,
            AuthError::OAuth { status, .. } => match ErrorKind::of_status(*status) {
                kind @ (ErrorKind::RateLimited | ErrorKind::ServerError) => kind,
                _ => ErrorKind::Unauthorized,
            },
            AuthError::Rejected { status, .. } => ErrorKind::of_status(*status),
            AuthError::BadResponse { .. } => ErrorKind::Decode,
            AuthError::GivenTokenRejected => ErrorKind::Unauthorized,
        }
    }

    /// Never true: getting a token creates no job (the same question as
    /// `ApiError::may_have_created_job`, answered for every layer).
    pub fn may_have_created_job(&self) -> bool {
        false
    }

    /// True when trying again later may succeed: no connection, a timeout, 429, a 5xx, or a
    /// success whose body was unreadable (a truncated or garbled answer is a server fault).
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Connect { .. }
            | AuthError::Timeout { .. }
            | AuthError::BadResponse { .. } => true,
            _ => self.status().is_some_and(|s| s == 429 || s >= 500),
        }
    }

    /// True when the credentials themselves were refused, so that every later exchange with
    /// them would be refused alike until someone changes them: the token endpoint answered 400,
    /// 401 or 403 with `invalid_client`, `invalid_grant` or `unauthorized_client` (the client
    /// id and key, or the refresh token, are unknown, revoked, deactivated or wrong), or 401 or
    /// 403 without an OAuth error; or a given access token was rejected. A 5xx, a 429, a
    /// dropped connection or a timeout is transient instead ([`AuthError::is_transient`]).
    pub fn is_refused_credentials(&self) -> bool {
        match self {
            AuthError::OAuth { status, error, .. } => {
                matches!(status, 400 | 401 | 403)
                    && matches!(
                        error.as_str(),
                        "invalid_client" | "invalid_grant" | "unauthorized_client"
                    )
            }
            AuthError::Rejected { status, .. } => matches!(status, 401 | 403),
            AuthError::GivenTokenRejected => true,
            _ => false,
        }
    }

    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            AuthError::OAuth { status, .. } | AuthError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The `Retry-After` the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::OAuth { retry_after, .. } | AuthError::Rejected { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

impl From<KeyError> for AuthError {
    fn from(e: KeyError) -> Self {
        AuthError::Key(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(status: u16, error: &str) -> AuthError {
        AuthError::OAuth {
            status,
            error: error.into(),
            description: String::new(),
            retry_after: None,
        }
    }

    fn rejected(status: u16) -> AuthError {
        AuthError::Rejected {
            url: "https://okta.example/token".into(),
            status,
            body: String::new(),
            retry_after: None,
        }
    }

    #[test]
    fn refused_credentials_are_told_from_transient_failures() {
        for refused in [
            oauth(401, "invalid_client"),
            oauth(400, "invalid_grant"),
            oauth(401, "invalid_grant"),
            oauth(403, "unauthorized_client"),
            rejected(401),
            rejected(403),
            AuthError::GivenTokenRejected,
        ] {
            assert!(refused.is_refused_credentials(), "{refused:?}");
            assert!(!refused.is_transient(), "{refused:?}");
        }
        for other in [
            oauth(400, "invalid_scope"),
            oauth(400, "invalid_request"),
            oauth(500, "invalid_client"),
            oauth(503, "temporarily_unavailable"),
            oauth(429, "slow_down"),
            rejected(500),
            rejected(502),
            rejected(429),
            AuthError::Timeout {
                url: String::new(),
                after: Duration::from_secs(1),
            },
            AuthError::NotConfigured,
        ] {
            assert!(!other.is_refused_credentials(), "{other:?}");
        }
    }
}
