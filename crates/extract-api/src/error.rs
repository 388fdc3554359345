//! The one error type of this crate, split by phase.

use std::path::PathBuf;
use std::time::Duration;

use extract_auth::{AuthError, ErrorKind};

/// What went wrong with an API call. It never carries a secret: URLs are shown without their
/// query (pre-signed URLs carry signatures there) and bodies are the service's own words.
///
/// [`ApiError::kind`] says what kind of failure it is. Its `Display` is this level's message;
/// the cause, when there is one, is `source()` (print the chain with [`extract_auth::Chain`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request could not be built: a bad input file, option or URL. Nothing was sent.
    #[error("{message}")]
    #[non_exhaustive]
    Build {
        /// What is wrong: [`ErrorKind::NotFound`], [`ErrorKind::NotPdf`],
        /// [`ErrorKind::Encrypted`], [`ErrorKind::PageOutOfRange`], [`ErrorKind::InvalidInput`]…
        kind: ErrorKind,
        /// The file concerned, when there is one.
        path: Option<PathBuf>,
        /// What is wrong, in words (the file's name included).
        message: String,
        /// The cause, such as the operating system's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// No access token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No connection was made, or it broke before a whole answer came.
    #[error("could not reach {endpoint}")]
    #[non_exhaustive]
    Connect {
        /// The endpoint, such as `POST /v3/extractions`.
        endpoint: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// What failed (for reqwest errors, without the URL, which may carry a signature).
        #[source]
        source: BoxError,
    },
    /// No answer in time.
    #[error("{endpoint} did not answer within {:.1}s", after.as_secs_f64())]
    #[non_exhaustive]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// The time waited.
        after: Duration,
        /// The timer's error, when one reported it.
        #[source]
        source: Option<BoxError>,
    },
    /// A submission whose fate is unknown: it was sent, but the answer was a 5xx, a broken
    /// connection or a timeout. The service may have created the job, so it is not retried.
    #[error(
        "{endpoint}: the submission was sent but {what}; the service may or may not have created the job. Check before submitting again."
    )]
    #[non_exhaustive]
    OutcomeUnknown {
        /// The endpoint.
        endpoint: String,
        /// What happened instead of an answer.
        what: String,
        /// The HTTP status, when there was one.
        status: Option<u16>,
    },
    /// The service answered with an error status.
    #[error("{endpoint} answered HTTP {status}{}: {}", field.as_ref().map(|f| format!(" about field `{f}`")).unwrap_or_default(), describe_body(body).0)]
    #[non_exhaustive]
    Service {
        /// The endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The field at fault, when the body names one (400s).
        field: Option<String>,
        /// The body text as sent (cut at 2,000 characters); [`ApiError::message`] reads it.
        body: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// An answer longer than the client reads ([`crate::ClientBuilder::max_answer_bytes`]).
    #[error("{endpoint} answered with more than {limit} bytes; not read")]
    #[non_exhaustive]
    TooLarge {
        /// The endpoint.
        endpoint: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// The limit.
        limit: u64,
    },
    /// A success status with a body that is not what the contract says.
    #[error("{endpoint} answered HTTP {status} with an unreadable body: {excerpt}")]
    #[non_exhaustive]
    Decode {
        /// The endpoint.
        endpoint: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        excerpt: String,
        /// What the parser said.
        #[source]
        source: BoxError,
    },
}

/// The cause inside an [`ApiError`]: any error, so that programs (and mocks) can make one.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl ApiError {
    /// An error about the request itself: nothing was sent (mocks and programs make them too).
    pub fn build(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError::Build {
            kind,
            path: None,
            message: message.into(),
            source: None,
        }
    }

    /// [`ApiError::build`] about the file at `path`: the message is prefixed with its name.
    pub fn about_file(
        kind: ErrorKind,
        path: &std::path::Path,
        message: impl std::fmt::Display,
    ) -> ApiError {
        ApiError::Build {
            kind,
            path: Some(path.to_path_buf()),
            message: format!("{}: {message}", path.display()),
            source: None,
        }
    }

    /// The service answered `status` with `body` (for mocks; see the `with_` methods).
    pub fn service(endpoint: impl Into<String>, status: u16, body: impl Into<String>) -> ApiError {
        ApiError::Service {
            endpoint: endpoint.into(),
            status,
            field: None,
            body: body.into(),
            request_id: None,
            retry_after: None,
        }
    }

    /// No connection to `endpoint`, for `source`.
    pub fn connect(endpoint: impl Into<String>, source: impl Into<BoxError>) -> ApiError {
        ApiError::Connect {
            endpoint: endpoint.into(),
            request_id: None,
            source: source.into(),
        }
    }

    /// No answer from `endpoint` within `after`.
    pub fn timeout(endpoint: impl Into<String>, after: Duration) -> ApiError {
        ApiError::Timeout {
            endpoint: endpoint.into(),
            request_id: None,
            after,
            source: None,
        }
    }

    /// A success status whose body starts with `excerpt` and could not be read.
    pub fn decode(
        endpoint: impl Into<String>,
        status: u16,
        excerpt: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> ApiError {
        ApiError::Decode {
            endpoint: endpoint.into(),
            request_id: None,
            status,
            excerpt: excerpt.into(),
            source: source.into(),
        }
    }

    /// A submission sent whose answer was `what` (with `status`, when there was one).
    pub fn outcome_unknown(
        endpoint: impl Into<String>,
        what: impl Into<String>,
        status: Option<u16>,
    ) -> ApiError {
        ApiError::OutcomeUnknown {
            endpoint: endpoint.into(),
            what: what.into(),
            status,
        }
    }

    /// The same error with the field at fault (of a [`ApiError::Service`]).
    #[must_use]
    pub fn with_field(mut self, name: impl Into<String>) -> ApiError {
        if let ApiError::Service { field, .. } = &mut self {
            *field = Some(name.into());
        }
        self
    }

    /// The same error with the `Retry-After` asked for (of a [`ApiError::Service`]).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> ApiError {
        if let ApiError::Service { retry_after, .. } = &mut self {
            *retry_after = Some(wait);
        }
        self
    }

    /// The same error about request `id` (of the variants that carry one).
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> ApiError {
        match &mut self {
            ApiError::Service { request_id, .. }
            | ApiError::Connect { request_id, .. }
            | ApiError::Timeout { request_id, .. }
            | ApiError::TooLarge { request_id, .. }
            | ApiError::Decode { request_id, .. } => *request_id = Some(id.into()),
            _ => {}
        }
        self
    }

    /// The same error with its cause (of a [`ApiError::Build`]).
    #[must_use]
    pub fn with_source(mut self, cause: impl Into<BoxError>) -> ApiError {
        if let ApiError::Build { source, .. } = &mut self {
            *source = Some(cause.into());
        }
        self
    }

    /// The same error about the file at `path` (of a [`ApiError::Build`] not yet about one):
    /// its message is prefixed with the file's name.
    #[must_use]
    pub(crate) fn in_file(mut self, at: &std::path::Path) -> ApiError {
        if let ApiError::Build { path, message, .. } = &mut self
            && path.is_none()
        {
            *message = format!("{}: {message}", at.display());
            *path = Some(at.to_path_buf());
        }
        self
    }

    /// What kind of failure this is: what a program matches on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ApiError::Build { kind, .. } => *kind,
            ApiError::Auth(e) => e.kind(),
            ApiError::Connect { .. } => ErrorKind::Connect,
            ApiError::Timeout { .. } => ErrorKind::Timeout,
            ApiError::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            ApiError::Service { status, .. } => ErrorKind::of_status(*status),
            ApiError::TooLarge { .. } => ErrorKind::AnswerTooLarge,
            ApiError::Decode { .. } => ErrorKind::Decode,
        }
    }

    /// The file the error is about, for errors about an input file.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            ApiError::Build { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, for errors that had one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Service { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            ApiError::OutcomeUnknown { status, .. } => *status,
            ApiError::Auth(e) => e.status(),
            _ => None,
        }
    }

    /// True when the same call may succeed later: no connection, a timeout, 429, a 5xx, a
    /// garbled body, or a 401 (the access token was refused: revoked or expired early, never
    /// the request's fault; with a new token the same call may pass). A token source that
    /// cannot give a new one says so with its own error, [`ApiError::Auth`], which is not
    /// transient when the token endpoint refused. An unknown submission outcome is *not*
    /// transient: retrying could duplicate.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Connect { .. } | ApiError::Timeout { .. } | ApiError::Decode { .. } => true,
            ApiError::Service { status, .. } => *status == 401 || *status == 429 || *status >= 500,
            ApiError::Auth(e) => e.is_transient(),
            _ => false,
        }
    }

    /// True when no token could be had because the credentials were refused
    /// ([`AuthError::is_refused_credentials`]): every later call would fail alike, so a program
    /// making many stops instead of failing each one.
    pub fn is_refused_credentials(&self) -> bool {
        matches!(self, ApiError::Auth(e) if e.is_refused_credentials())
    }

    /// The service's own words: the message read from an error body, or its text.
    pub fn message(&self) -> Option<String> {
        match self {
            ApiError::Service { body, .. } => Some(describe_body(body).0),
            _ => None,
        }
    }

    /// The `Retry-After` the service (or the token endpoint) asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Service { retry_after, .. } => *retry_after,
            ApiError::Auth(e) => e.retry_after(),
            _ => None,
        }
    }

    /// True when a submission may have created a job although it failed: the service may hold
    /// a job the caller has no id for. Never true for calls that do not create jobs.
    pub fn may_have_created_job(&self) -> bool {
        matches!(self, ApiError::OutcomeUnknown { .. })
    }

    /// The request id the failed call was about, when it had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Service { request_id, .. }
            | ApiError::Connect { request_id, .. }
            | ApiError::Timeout { request_id, .. }
            | ApiError::TooLarge { request_id, .. }
            | ApiError::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

/// Reads the message and the field at fault from an error body: FastAPI's
/// `{"detail": [{"loc": ["body", FIELD], "msg": …}]}`, `{"detail": "…"}`, or plain text.
pub(crate) fn describe_body(body: &str) -> (String, Option<String>) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        let text = body.trim();
        return (
            if text.is_empty() {
                "(empty body)".into()
            } else {
                excerpt(text, 300)
            },
            None,
        );
    };
    match &json["detail"] {
        serde_json::Value::String(message) => (message.clone(), None),
        serde_json::Value::Array(items) if !items.is_empty() => {
            let field = items[0]["loc"]
                .as_array()
                .and_then(|loc| loc.last())
                .and_then(|f| f.as_str())
                .map(String::from);
            let messages: Vec<String> = items
                .iter()
                .map(|item| {
                    let at = item["loc"]
                        .as_array()
                        .and_then(|l| l.last())
                        .and_then(|f| f.as_str())
                        .unwrap_or("?");
                    format!("{at}: {}", item["msg"].as_str().unwrap_or("invalid"))
                })
                .collect();
            (messages.join("; "), field)
        }
        _ => match (json["error"].as_str(), json["message"].as_str()) {
            (_, Some(message)) => (message.to_string(), None),
            (Some(error), None) => (error.to_string(), None),
            _ => (excerpt(body.trim(), 300), None),
        },
    }
}

pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut cut: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_name_the_field() {
        let (message, field) = describe_body(
            r#"{"detail":[{"loc":["body","pages"],"msg":"page 9 is past the end","type":"value_error"}]}"#,
        );
        assert_eq!(field.as_deref(), Some("pages"));
        assert_eq!(message, "pages: page 9 is past the end");
        assert_eq!(
            describe_body(r#"{"detail":"Not authenticated"}"#),
            ("Not authenticated".into(), None)
        );
        assert_eq!(
            describe_body("<html>Bad Gateway</html>").0,
            "<html>Bad Gateway</html>"
        );
        assert_eq!(describe_body("").0, "(empty body)");
    }

    #[test]
    fn only_safe_failures_are_transient() {
        let unknown = ApiError::OutcomeUnknown {
            endpoint: "POST /v3/extractions".into(),
            what: "HTTP 500".into(),
            status: Some(500),
        };
        assert!(!unknown.is_transient());
        assert!(
            unknown
                .to_string()
                .contains("may or may not have created the job")
        );
        let throttled = ApiError::Service {
            endpoint: "x".into(),
            status: 429,
            field: None,
            body: "slow".into(),
            request_id: None,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert!(throttled.is_transient());
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
    }
}
