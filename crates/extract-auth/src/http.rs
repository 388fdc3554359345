//! The HTTP client: reqwest over the TLS stack the build's features offer (rustls on ring by
//! default, the one crypto backend of the default build).

use std::time::Duration;

use url::Url;

use crate::AuthError;
use crate::endpoint::redacted;

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("kensho-extract/", env!("CARGO_PKG_VERSION"));

/// A TLS stack for the HTTP clients this crate builds. Each feature adds one, and nothing
/// else: with several built in, [`Tls::preferred`] picks in this order (the order of the
/// variants), and [`client_builder_with`] takes the one a program asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tls {
    /// rustls on ring (feature `rustls-ring`, the default): ring also signs the client
    /// assertions, so the default build holds one crypto library.
    #[cfg(feature = "rustls-ring")]
    RustlsRing,
    /// rustls on aws-lc-rs (feature `rustls-aws-lc`).
    #[cfg(feature = "rustls-aws-lc")]
    RustlsAwsLc,
    /// The platform's TLS, OpenSSL on Linux (feature `native-tls`).
    #[cfg(feature = "native-tls")]
    Native,
}

impl Tls {
    /// Every stack this build offers, in the order [`Tls::preferred`] considers them.
    pub const AVAILABLE: &'static [Tls] = &[
        #[cfg(feature = "rustls-ring")]
        Tls::RustlsRing,
        #[cfg(feature = "rustls-aws-lc")]
        Tls::RustlsAwsLc,
        #[cfg(feature = "native-tls")]
        Tls::Native,
    ];

    /// The stack [`client_builder`] uses: the first of [`Tls::AVAILABLE`]. `None` when the
    /// build has no TLS feature: its clients then speak plain HTTP only (the emulator on
    /// loopback), and an `https://` URL fails saying so.
    #[must_use]
    pub fn preferred() -> Option<Tls> {
        Tls::AVAILABLE.first().copied()
    }
}

/// A reqwest client builder over [`Tls::preferred`], with our user agent and redirect rules.
///
/// reqwest is built without a bundled crypto provider; rather than install one process-wide
/// (which would choose for the whole application), rustls is handed a configuration of its
/// own: the chosen provider, and the platform's root certificates.
///
/// Redirects obey the rules of URLs the user gives: a redirect to plain `http://` on another
/// machine is refused, and one to another origin is not followed (the 3xx comes back as the
/// answer), so a bearer token never travels to a host the user did not name.
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(redirect_policy());
    match Tls::preferred() {
        Some(tls) => with_tls(builder, tls),
        None => builder,
    }
}

/// [`client_builder`] over the TLS stack `tls`, whichever others the build also has.
pub fn client_builder_with(tls: Tls) -> reqwest::ClientBuilder {
    with_tls(
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(redirect_policy()),
        tls,
    )
}

#[cfg_attr(
    not(any(
        feature = "rustls-ring",
        feature = "rustls-aws-lc",
        feature = "native-tls"
    )),
    allow(unused_variables, unreachable_code)
)]
fn with_tls(builder: reqwest::ClientBuilder, tls: Tls) -> reqwest::ClientBuilder {
    match tls {
        #[cfg(feature = "rustls-ring")]
        Tls::RustlsRing => {
            builder.tls_backend_preconfigured(tls_config(rustls::crypto::ring::default_provider()))
        }
        #[cfg(feature = "rustls-aws-lc")]
        Tls::RustlsAwsLc => builder
            .tls_backend_preconfigured(tls_config(rustls::crypto::aws_lc_rs::default_provider())),
        #[cfg(feature = "native-tls")]
        Tls::Native => builder.tls_backend_native(),
    }
}

/// rustls on `provider` with the platform's certificate verifier. Where the platform has no
/// root certificates, every TLS handshake fails saying so (plain `http://` to loopback still
/// works).
#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc"))]
fn tls_config(provider: rustls::crypto::CryptoProvider) -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(provider);
    let verifier: std::sync::Arc<dyn rustls::client::danger::ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new(provider.clone()) {
            Ok(verifier) => std::sync::Arc::new(verifier),
            Err(e) => std::sync::Arc::new(no_roots::NoRoots::new(e, provider.clone())),
        };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring and aws-lc-rs support TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[cfg(any(feature = "rustls-ring", feature = "rustls-aws-lc"))]
mod no_roots {
    //! A verifier for a platform without root certificates: it refuses every certificate,
    //! saying why, instead of failing to build a client that may only speak to loopback.

    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};

    #[derive(Debug)]
    pub(super) struct NoRoots {
        why: String,
        provider: Arc<CryptoProvider>,
    }

    impl NoRoots {
        pub(super) fn new(error: rustls::Error, provider: Arc<CryptoProvider>) -> NoRoots {
            NoRoots {
                why: format!("no trusted root certificates could be loaded: {error}"),
                provider,
            }
        }

        fn refuse<T>(&self) -> Result<T, rustls::Error> {
            Err(rustls::Error::General(self.why.clone()))
        }
    }

    impl ServerCertVerifier for NoRoots {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            self.refuse()
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.refuse()
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.refuse()
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
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

/// An error and its causes, joined by `: ` ([`crate::Chain`]).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    crate::Chain(error).to_string()
}

/// The longest `Retry-After` believed: a server asking for more is misconfigured. Every user
/// of it caps it further (each retry policy by its longest wait).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The `Retry-After` of a response, in either form: seconds (a number too large for any clock
/// counts as [`MAX_RETRY_AFTER`]) or an HTTP-date (the time left until it, zero once passed).
/// Anything else is no `Retry-After`. Never more than [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    parse_retry_after(value, std::time::SystemTime::now())
}

/// A `Retry-After` value read at `now`.
fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let asked = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only too many of them fails to parse.
        value
            .parse::<u64>()
            .map_or(MAX_RETRY_AFTER, Duration::from_secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(asked.min(MAX_RETRY_AFTER))
}
/// A body for an error message: cut at 1,000 characters.
pub(crate) fn body_excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(1000).collect();
    if body.chars().count() > 1000 {
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_stays_bounded() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let read = |v: &str| parse_retry_after(v, now);
        assert_eq!(read("7"), Some(Duration::from_secs(7)));
        assert_eq!(read("0"), Some(Duration::ZERO));
        assert_eq!(read("18446744073709551615"), Some(MAX_RETRY_AFTER));
        assert_eq!(
            read("99999999999999999999999999999999"),
            Some(MAX_RETRY_AFTER),
            "past u64"
        );
        assert_eq!(
            read("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            read("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(Duration::ZERO),
            "RFC 850"
        );
        assert_eq!(
            read("Sat, 01 Jan 1994 00:00:00 GMT"),
            Some(Duration::ZERO),
            "passed"
        );
        assert_eq!(read("Fri, 31 Dec 9999 23:59:59 GMT"), Some(MAX_RETRY_AFTER));
        for nothing in ["", "-5", "1.5", "soon", "+3", "Mon, 99 Foo 2024"] {
            assert_eq!(read(nothing), None, "{nothing:?}");
        }
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            reqwest::header::HeaderValue::from_static(" 12 "),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
    }
}
