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
