//! Exit codes, documented in the README: 0 success, 1 an error, 2 a usage error (clap),
//! 3 a job failed on the service side, 4 a deadline passed, 5 a shard's lease was lost (the
//! worker stopped: another holds the shard), 6 the credentials were refused (the token endpoint
//! refused the client id and key or the refresh token, or the API a given access token; `run`
//! stopped sending), 130 interrupted (Ctrl-C).

use std::fmt;

use extract_poll::PollError;

use crate::Failure;

/// A failure with a specific exit code.
#[derive(Debug)]
pub struct Coded {
    pub code: u8,
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

pub const SERVICE_FAILED: u8 = 3;
pub const DEADLINE: u8 = 4;
/// A worker whose shard lease lapsed (paused, cut off from the store) or was taken over: it
/// stopped sending and writing; the shard is another worker's now.
pub const LEASE_LOST: u8 = 5;
/// The credentials were refused: the token endpoint refused the client id and key (or the
/// refresh token), or the API a given access token. Trying again cannot help until they are
/// fixed; `run` stops at the first refusal instead of failing every document.
pub const CREDENTIALS_REFUSED: u8 = 6;
pub const INTERRUPTED: u8 = 130;

pub fn coded(code: u8, message: impl Into<String>) -> Failure {
    Box::new(Coded {
        code,
        message: message.into(),
    })
}

/// The lease a run lost, if that is what this failure is.
pub fn lease_lost(failure: &Failure) -> Option<&extract_batch::LeaseLost> {
    failure
        .downcast_ref::<extract_batch::LeaseLost>()
        .or_else(|| {
            failure
                .downcast_ref::<std::io::Error>()
                .and_then(|e| e.get_ref())
                .and_then(|e| e.downcast_ref::<extract_batch::LeaseLost>())
        })
}

/// The error of a run stopped by refused credentials, if that is what this failure is.
pub fn credentials_refused(failure: &Failure) -> Option<&extract_batch::CredentialsRefused> {
    failure
        .downcast_ref::<extract_batch::CredentialsRefused>()
        .or_else(|| {
            failure
                .downcast_ref::<std::io::Error>()
                .and_then(|e| e.get_ref())
                .and_then(|e| e.downcast_ref::<extract_batch::CredentialsRefused>())
        })
}

/// Whether a failure is credentials refused, by whichever layer said so.
fn is_refused_credentials(failure: &Failure) -> bool {
    credentials_refused(failure).is_some()
        || failure
            .downcast_ref::<extract_auth::AuthError>()
            .is_some_and(extract_auth::AuthError::is_refused_credentials)
        || failure
            .downcast_ref::<extract_api::ApiError>()
            .is_some_and(extract_api::ApiError::is_refused_credentials)
        || matches!(
            failure.downcast_ref::<PollError>(),
            Some(PollError::Api { source, .. }) if source.is_refused_credentials()
        )
}

/// What the CLI adds to a library's error: the command that helps.
pub fn hint(failure: &Failure) -> Option<String> {
    if let Some(stopped) = credentials_refused(failure) {
        return Some(format!(
            "check the client id and key (or the token); {} document(s) were done before the stop and stay written, and the same command with good credentials resumes the rest",
            stopped.summary.succeeded + stopped.summary.already_done
        ));
    }
    if is_refused_credentials(failure) {
        return Some("check the client id and key (or the token)".into());
    }
    if lease_lost(failure).is_some() {
        return Some(
            "the worker now holding the shard finishes it; `kensho-extract report` shows its progress"
                .into(),
        );
    }
    match failure.downcast_ref::<PollError>() {
        Some(PollError::Deadline { request_id, .. }) => {
            Some(format!("resume it with `kensho-extract wait {request_id}`"))
        }
        _ => None,
    }
}

/// Whether a failure is stdout closed by its reader (EPIPE).
pub fn is_closed_pipe(failure: &Failure) -> bool {
    failure
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The exit code of a failure.
pub fn code_of(failure: &Failure) -> u8 {
    if let Some(coded) = failure.downcast_ref::<Coded>() {
        return coded.code;
    }
    if lease_lost(failure).is_some() {
        return LEASE_LOST;
    }
    if is_refused_credentials(failure) {
        return CREDENTIALS_REFUSED;
    }
    match failure.downcast_ref::<PollError>() {
        Some(PollError::Failed { .. }) => SERVICE_FAILED,
        Some(PollError::Deadline { .. }) => DEADLINE,
        _ => 1,
    }
}
