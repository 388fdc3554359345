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

/// What the CLI adds to a library's error: the command or the option that helps. The
/// libraries say what is wrong; only the CLI knows its commands and flags.
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
    hint_of(&**failure)
}

/// A failure as the CLI prints it on one line: the error, each of its causes once (the
/// libraries' errors leave their causes to `source()`), then the CLI's hint.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = extract_api::Chain(error).to_string();
    if let Some(hint) = hint_of(error) {
        line.push_str("; ");
        line.push_str(&hint);
    }
    line
}

/// The hint for the first level of `error`'s chain that has one.
fn hint_of(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut level = Some(error);
    while let Some(error) = level {
        if let Some(hint) = hint_at(error) {
            return Some(hint);
        }
        level = error.source();
    }
    None
}

fn hint_at(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use extract_api::{ApiError, ErrorKind};
    use extract_auth::AuthError;
    use extract_keys::KeyError;

    if let Some(PollError::Deadline { request_id, .. }) = error.downcast_ref::<PollError>() {
        return Some(format!("resume it with `kensho-extract wait {request_id}`"));
    }
    // Errors that are transparent over another (their `source()` skips it) are opened here.
    let api = error.downcast_ref::<ApiError>().or_else(|| {
        match error.downcast_ref::<extract_batch::DocumentError>() {
            Some(extract_batch::DocumentError::Api(e)) => Some(e),
            _ => None,
        }
    });
    let auth = api
        .and_then(|e| match e {
            ApiError::Auth(auth) => Some(auth),
            _ => None,
        })
        .or_else(|| error.downcast_ref::<AuthError>());
    let key = auth
        .and_then(|e| match e {
            AuthError::Key(key) => Some(&**key),
            _ => None,
        })
        .or_else(|| error.downcast_ref::<KeyError>());
    if let Some(key) = key {
        return match key {
            KeyError::TooSmall { .. } | KeyError::NotRsa { .. } => {
                Some("make a new key with `kensho-extract keys generate`".into())
            }
            KeyError::Exists { .. } => Some("pass --force to replace it".into()),
            KeyError::InFile { source, .. } => hint_at(&**source),
            _ => None,
        };
    }
    if let Some(api) = api {
        return match api.kind() {
            ErrorKind::Encrypted => Some(
                "decrypt it (such as with `qpdf --decrypt`), or send it anyway with --no-preflight"
                    .into(),
            ),
            ErrorKind::Damaged => Some("or send it anyway with --no-preflight".into()),
            _ => None,
        };
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>()
        && let Some(inner) = io.get_ref()
    {
        if inner.is::<extract_batch::InUse>() {
            return Some("or wait for it with --wait-lock".into());
        }
        if inner.is::<extract_batch::ForeignFile>() {
            return Some("move it away, or pass --overwrite to replace it".into());
        }
    }
    if let Some(extract_convert::TokenizerError::NotBuilt { feature, .. }) =
        error.downcast_ref::<extract_convert::TokenizerError>()
    {
        return Some(format!(
            "use a build with it: cargo install --path crates/extract-cli --features {feature}"
        ));
    }
    if let Some(extract_review::ReviewError::NoRenderer) =
        error.downcast_ref::<extract_review::ReviewError>()
    {
        return Some("leave out --pdf, or use a build with the review-pdf feature".into());
    }
    None
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
