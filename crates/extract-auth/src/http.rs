//! The HTTP client: reqwest over rustls on ring, the one crypto backend of the default build.

use std::time::Duration;

use url::Url;

use crate::AuthError;
use crate::endpoint::redacted;

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("kensho-extract/", env!("CARGO_PKG_VERSION"));

/// A reqwest client builder with rustls on ring and our user agent.
///
/// reqwest is built without a bundled crypto provider, so this installs ring's as the
/// process default (unless the application installed one already) before building.
///
/// Redirects obey the rules of URLs the user gives: a redirect to plain `http://` on another
/// machine is refused, and one to another origin is not followed (the 3xx comes back as the
/// answer), so a bearer token never travels to a host the user did not name.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(redirect_policy())
}

/// Same-origin redirects only, never to plain http off this machine, at most 5.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let url = attempt.url();
        if url.scheme() != "https" && !crate::endpoint::is_loopback(url) {
            let refused = format!("a redirect to {} (plain http) was refused", redacted(url));
            return attempt.error(refused);
        }
        let first = attempt.previous().first();
        if first.is_some_and(|from| from.origin() != url.origin()) || attempt.previous().len() > 5 {
            return attempt.stop();
        }
        attempt.follow()
    })
}

/// Installs ring as rustls' process-wide crypto provider, once; keeps one already installed.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Turns a reqwest failure into a connection or timeout error, naming the URL without its query.
pub(crate) fn send_error(url: &Url, error: reqwest::Error, timeout: Duration) -> AuthError {
    if error.is_timeout() {
        AuthError::Timeout {
            url: redacted(url),
            after: timeout,
        }
    } else {
        AuthError::Connect {
            url: redacted(url),
            // reqwest's message names the URL, which may carry a secret: strip it.
            source: std::sync::Arc::new(error.without_url()),
        }
    }
}

/// An error and its causes, joined by `: `.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        // Some errors repeat their cause in their own message.
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// The causes of an error, joined, without the error's own message (reqwest puts the URL there,
/// which may carry a refresh token or a signature).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = Vec::new();
    let mut source = error.source();
    while let Some(e) = source {
        causes.push(e.to_string());
        source = e.source();
    }
    if causes.is_empty() {
        "connection failed".into()
    } else {
        causes.join(": ")
    }
}

/// The `Retry-After` of a response, in seconds form (the HTTP-date form is rare in APIs).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A body for an error message: cut at 1,000 characters.
pub(crate) fn body_excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(1000).collect();
    if body.chars().count() > 1000 {
        text.push('…');
    }
    text
}
