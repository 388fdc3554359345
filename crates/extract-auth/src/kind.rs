//! What kind of failure an error is, one vocabulary for every layer, and how a chain of
//! causes is printed.

use std::fmt;

/// What kind of failure an error is: what a program matches on to decide what to do. Every
/// public error of these crates answers `kind()` with one (`AuthError`, `ApiError`,
/// `PollError`, `DocumentError`, …). New kinds may come: match with a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // The input: nothing was sent.
    /// The file does not exist.
    NotFound,
    /// The file (or folder) may not be read or written.
    PermissionDenied,
    /// The path is a folder, a pipe, a socket or a device.
    NotAFile,
    /// The file or the document is empty.
    Empty,
    /// The file is not a PDF (no `%PDF-` header in its first kilobyte).
    NotPdf,
    /// The PDF is encrypted with a password.
    Encrypted,
    /// The PDF's structure cannot be read, or it has no pages.
    Damaged,
    /// The pages asked for are past the end of the document.
    PageOutOfRange,
    /// The document is larger than any upload takes.
    FileTooLarge,
    /// An option, a URL, a page selection, a request id or another argument is not valid.
    InvalidInput,
    /// A file could not be read or written for another reason.
    Io,
    /// The configuration is missing or wrong: no credentials, an insecure URL, a client that
    /// cannot be built.
    Config,
    /// The private key cannot be used (or the assertion it signs cannot be made).
    Key,
    // The service's answers.
    /// The credentials or the access token were refused (HTTP 401, an OAuth refusal).
    Unauthorized,
    /// The credentials are good but not for this (HTTP 403).
    Forbidden,
    /// Too many requests (HTTP 429): wait for `retry_after()`.
    RateLimited,
    /// The service knows no such job (HTTP 404).
    NoSuchJob,
    /// The service refused the request as it is (another 4xx).
    Rejected,
    /// The service failed (HTTP 5xx).
    ServerError,
    /// An answer that is not what the contract says.
    Decode,
    /// An answer larger than the client reads.
    AnswerTooLarge,
    // The connection.
    /// No connection was made, or it broke.
    Connect,
    /// No answer in time.
    Timeout,
    /// A submission was sent but its answer never came: the service may hold a job.
    OutcomeUnknown,
    // Jobs and batches.
    /// The service says the job failed.
    JobFailed,
    /// A wait's deadline passed; the job may still finish.
    Deadline,
    /// A batch worker's lease on its shard lapsed or was taken.
    LeaseLost,
    /// Something else (an internal failure).
    Other,
}

impl ErrorKind {
    /// The kind of an HTTP error status.
    pub fn of_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NoSuchJob,
            413 => ErrorKind::FileTooLarge,
            429 => ErrorKind::RateLimited,
            500.. => ErrorKind::ServerError,
            _ => ErrorKind::Rejected,
        }
    }
}

impl From<std::io::ErrorKind> for ErrorKind {
    fn from(kind: std::io::ErrorKind) -> ErrorKind {
        match kind {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            std::io::ErrorKind::IsADirectory => ErrorKind::NotAFile,
            _ => ErrorKind::Io,
        }
    }
}

/// An error and its causes on one line, joined by `: `, as anyhow's `{:#}` prints them.
///
/// The errors of these crates follow one rule: an error's `Display` says what went wrong at its
/// own level and never repeats its cause, which `source()` returns. `to_string()` alone is then
/// the top level only; print `Chain(&error)` (or use anyhow's `{:#}`, eyre, a tracing error
/// layer) to show the causes. Errors of other crates that repeat their cause are shown once.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            let next = e.to_string();
            // Some errors of other crates repeat their cause in their own message.
            if !next.is_empty() && !shown.ends_with(&next) {
                write!(f, ": {next}")?;
            }
            shown = next;
            source = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthError;

    #[test]
    fn a_chain_shows_each_level_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = AuthError::Connect {
            url: "http://127.0.0.1:1/token".into(),
            source: std::sync::Arc::new(refused),
        };
        assert_eq!(
            error.to_string(),
            "could not reach http://127.0.0.1:1/token"
        );
        assert_eq!(
            Chain(&error).to_string(),
            "could not reach http://127.0.0.1:1/token: refused"
        );
        assert_eq!(error.kind(), ErrorKind::Connect);
    }

    #[test]
    fn statuses_have_kinds() {
        assert_eq!(ErrorKind::of_status(429), ErrorKind::RateLimited);
        assert_eq!(ErrorKind::of_status(401), ErrorKind::Unauthorized);
        assert_eq!(ErrorKind::of_status(503), ErrorKind::ServerError);
        assert_eq!(ErrorKind::of_status(400), ErrorKind::Rejected);
    }
}
