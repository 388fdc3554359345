//! The HTTP client: reqwest over rustls on ring, the one crypto backend of the default build.

use std::time::Duration;

use url::Url;

use crate::AuthError;
use crate::endpoint::redacted;

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("kensho-extract/", env!("CARGO_PKG_VERSION"));

/// A reqwest client builder with rustls on ring and our user agent.
///
/// reqwest is built without a bundled crypto provider; rather than install one process-wide
/// (which would choose for the whole application), this hands reqwest a TLS configuration of
/// its own: ring, and the platform's root certificates.
///
/// Redirects obey the rules of URLs the user gives: a redirect to plain `http://` on another
/// machine is refused, and one to another origin is not followed (the 3xx comes back as the
/// answer), so a bearer token never travels to a host the user did not name.
pub fn client_builder() -> reqwest::ClientBuilder {
    with_tls(
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(redirect_policy()),
    )
}

/// The platform's TLS (the `native-tls` feature).
#[cfg(feature = "native-tls")]
fn with_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_native()
}

/// rustls, on the provider the features choose.
#[cfg(not(feature = "native-tls"))]
fn with_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_preconfigured(tls_config())
}

/// The rustls crypto provider: aws-lc-rs with the `rustls-aws-lc` feature, else ring.
#[cfg(not(feature = "native-tls"))]
fn provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "rustls-aws-lc")]
    return rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "rustls-aws-lc"))]
    rustls::crypto::ring::default_provider()
}

/// rustls with the platform's certificate verifier. Where the platform has no root
/// certificates, every TLS handshake fails saying so (plain `http://` to loopback still works).
#[cfg(not(feature = "native-tls"))]
fn tls_config() -> rustls::ClientConfig {
    let provider = std::sync::Arc::new(provider());
    let verifier: std::sync::Arc<dyn rustls::client::danger::ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new(provider.clone()) {
            Ok(verifier) => std::sync::Arc::new(verifier),
            Err(e) => std::sync::Arc::new(no_roots::NoRoots::new(e, provider.clone())),
        };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[cfg(not(feature = "native-tls"))]
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
