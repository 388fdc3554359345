//! The one error type of this crate, split by phase.

use std::time::Duration;

use extract_auth::AuthError;

/// What went wrong with an API call. It never carries a secret: URLs are shown without their
/// query (pre-signed URLs carry signatures there) and bodies are the service's own words.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request could not be built: a bad input file, option or URL. Nothing was sent.
    #[error("{0}")]
    Build(String),
    /// No access token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// No connection was made, or it broke before a whole answer came.
    #[error("could not reach {endpoint}: {}", extract_auth::http::describe(source.as_ref()))]
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
    TooLarge {
        /// The endpoint.
        endpoint: String,
        /// The request id the call was about, when there was one.
        request_id: Option<String>,
        /// The limit.
        limit: u64,
    },
    /// A success status with a body that is not what the contract says.
    #[error("{endpoint} answered HTTP {status} with an unreadable body ({source}): {excerpt}")]
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
