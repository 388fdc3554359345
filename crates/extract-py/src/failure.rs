//! Every failure as one exception of `kensho_extract.errors`, chosen by its kind, carrying what
//! a program acts on (`kind`, `request_id`, `retryable`, `may_have_created_job`, `status`,
//! `retry_after`). The message is the error and its causes on one line (`Chain`), from errors
//! that never print a secret.

use std::time::Duration;

use extract_api::{ApiError, Chain, ErrorKind};
use extract_auth::AuthError;
use extract_poll::PollError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A failure on its way to Python.
#[derive(Debug, Clone)]
pub struct Failure {
    kind: ErrorKind,
    message: String,
    request_id: Option<String>,
    retryable: bool,
    may_have_created_job: bool,
    status: Option<u16>,
    retry_after: Option<Duration>,
    /// Whether the failure came from authentication (the class is then `AuthError` whatever
    /// the kind: a missing key, an unreadable key, a refused token).
    auth: bool,
}

impl Failure {
    /// A failure of the arguments a Python caller gave.
    pub fn input(message: impl Into<String>) -> Failure {
        Failure::new(ErrorKind::InvalidInput, message)
    }

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            request_id: None,
            retryable: false,
            may_have_created_job: false,
            status: None,
            retry_after: None,
            auth: false,
        }
    }

    /// The request this failure is about.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Failure {
        self.request_id = Some(id.into());
        self
    }

    /// The same failure, as one of authentication (missing or unusable credentials).
    pub fn auth(mut self) -> Failure {
        self.auth = true;
        self
    }

    /// The exception class of `kensho_extract.errors` for this failure.
    fn class(&self) -> &'static str {
        use ErrorKind::*;
        match self.kind {
            _ if self.auth => "AuthError",
            Unauthorized | Forbidden | Key => "AuthError",
            NotFound | PermissionDenied | NotAFile | Empty | NotPdf | Encrypted | Damaged
            | PageOutOfRange | FileTooLarge | InvalidInput | Io | Config => "BadInputError",
            JobFailed => "JobFailedError",
            Deadline | Timeout => "ExtractTimeoutError",
            _ => "ApiError",
        }
    }
}

/// The kind as Python sees it: `not_found`, `rate_limited`, … (stable strings, documented in
/// the stubs).
pub fn kind_name(kind: ErrorKind) -> &'static str {
    use ErrorKind::*;
    match kind {
        NotFound => "not_found",
        PermissionDenied => "permission_denied",
        NotAFile => "not_a_file",
        Empty => "empty",
        NotPdf => "not_pdf",
        Encrypted => "encrypted",
        Damaged => "damaged",
        PageOutOfRange => "page_out_of_range",
        FileTooLarge => "file_too_large",
        InvalidInput => "invalid_input",
        Io => "io",
        Config => "config",
        Key => "key",
        Unauthorized => "unauthorized",
        Forbidden => "forbidden",
        RateLimited => "rate_limited",
        NoSuchJob => "no_such_job",
        Rejected => "rejected",
        ServerError => "server_error",
        Decode => "decode",
        AnswerTooLarge => "answer_too_large",
        Connect => "connect",
        Timeout => "timeout",
        OutcomeUnknown => "outcome_unknown",
        JobFailed => "job_failed",
        Deadline => "deadline",
        LeaseLost => "lease_lost",
        _ => "other",
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        Failure {
            kind: error.kind(),
            message: Chain(&error).to_string(),
            request_id: error.request_id().map(str::to_string),
            retryable: error.is_transient(),
            may_have_created_job: error.may_have_created_job(),
            status: error.status(),
            retry_after: error.retry_after(),
            auth: error.is_refused_credentials(),
        }
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Failure {
        Failure {
            kind: error.kind(),
            message: Chain(&error).to_string(),
            request_id: None,
            retryable: error.is_transient(),
            may_have_created_job: false,
            status: error.status(),
            retry_after: error.retry_after(),
            auth: true,
        }
    }
}

impl From<PollError> for Failure {
    fn from(error: PollError) -> Failure {
        Failure {
            kind: error.kind(),
            message: Chain(&error).to_string(),
            request_id: Some(error.request_id().to_string()),
            retryable: error.is_transient(),
            may_have_created_job: error.may_have_created_job(),
            status: match &error {
                PollError::Api { source, .. } => source.status(),
                _ => None,
            },
            retry_after: error.retry_after(),
            auth: false,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        let kind = match error.kind() {
            std::io::ErrorKind::Other => ErrorKind::Other,
            other => ErrorKind::from(other),
        };
        Failure::new(kind, Chain(&error).to_string())
    }
}

impl From<serde_json::Error> for Failure {
    fn from(error: serde_json::Error) -> Failure {
        Failure::input(format!("not an Extract output document: {error}"))
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        Python::attach(|py| match raise(py, &failure) {
            Ok(error) | Err(error) => error,
        })
    }
}

/// The exception for `failure`, made by its class in `kensho_extract.errors` (an `Err` only if
/// that module cannot be imported, which is then the error to see).
fn raise(py: Python<'_>, failure: &Failure) -> PyResult<PyErr> {
    let errors = py.import("kensho_extract.errors")?;
    let fields = PyDict::new(py);
    fields.set_item("kind", kind_name(failure.kind))?;
    fields.set_item("request_id", &failure.request_id)?;
    fields.set_item("retryable", failure.retryable)?;
    fields.set_item("may_have_created_job", failure.may_have_created_job)?;
    fields.set_item("status", failure.status)?;
    fields.set_item("retry_after", failure.retry_after.map(|d| d.as_secs_f64()))?;
    let exception = errors
        .getattr(failure.class())?
        .call((&failure.message,), Some(&fields))?;
    Ok(PyErr::from_value(exception))
}

/// The result type of everything that can fail on the Rust side.
pub type Result<T> = std::result::Result<T, Failure>;
