//! The production flow: a client assertion exchanged at Okta's token endpoint.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

use crate::endpoint::{checked_url, redacted};
use crate::http::{body_excerpt, retry_after, send_error};
use crate::{AuthError, ClientAssertion, Secret, Token, TokenSource};

/// The scope of Kensho Extract.
pub const EXTRACT_SCOPE: &str = "kensho:app:extract";
/// Kensho's Okta token endpoint.
pub const KENSHO_TOKEN_URL: &str = "https://kensho.okta.com/oauth2/default/v1/token";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Exchanges a fresh client assertion for an access token on every call.
#[derive(Debug, Clone)]
pub struct KeypairSource {
    http: reqwest::Client,
    token_url: Url,
    assertion: ClientAssertion,
    scopes: Vec<String>,
    timeout: Duration,
}

/// The parts of Okta's answer we read; the rest is optional by OAuth and ignored.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

impl KeypairSource {
    /// A source for `assertion`'s client at `token_url` (use [`KENSHO_TOKEN_URL`] for Kensho),
    /// asking for the Extract scope.
    pub fn new(
        http: reqwest::Client,
        token_url: &str,
        assertion: ClientAssertion,
    ) -> Result<Self, AuthError> {
        Ok(KeypairSource {
            http,
            token_url: checked_url(token_url, "token URL")?,
            assertion,
            scopes: vec![EXTRACT_SCOPE.to_string()],
            timeout: Duration::from_secs(30),
        })
    }

    /// Asks for these scopes instead (sent space-joined).
    pub fn with_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The time one exchange may take (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl TokenSource for KeypairSource {
    async fn token(&self) -> Result<Token, AuthError> {
        let assertion = self.assertion.sign()?;
        let scope = self.scopes.join(" ");
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
        ];
        let response = self
            .http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| send_error(&self.token_url, e, self.timeout))?;
        read_token_response(&self.token_url, response, self.timeout).await
    }

    fn method(&self) -> &'static str {
        "keypair"
    }
}

/// Reads a token endpoint's answer: a token, an OAuth error, or another refusal.
pub(crate) async fn read_token_response(
    url: &Url,
    response: reqwest::Response,
    timeout: Duration,
) -> Result<Token, AuthError> {
    let status = response.status();
    let retry = retry_after(response.headers());
    let body = response
        .text()
        .await
        .map_err(|e| send_error(url, e, timeout))?;
    if !status.is_success() {
        if let Ok(oauth) = serde_json::from_str::<OAuthError>(&body) {
            return Err(AuthError::OAuth {
                status: status.as_u16(),
                error: oauth.error,
                description: oauth.error_description.unwrap_or_default(),
                retry_after: retry,
            });
        }
        return Err(AuthError::Rejected {
            url: redacted(url),
            status: status.as_u16(),
            body: body_excerpt(&body),
            retry_after: retry,
        });
    }
    let parsed: TokenResponse =
        serde_json::from_str(&body).map_err(|e| AuthError::BadResponse {
            url: redacted(url),
            // serde's message names the field and position, never the token text.
            detail: e.to_string(),
        })?;
    if parsed.access_token.is_empty() {
        return Err(AuthError::BadResponse {
            url: redacted(url),
            detail: "the access_token is empty".into(),
        });
    }
    let secret = Secret::new(parsed.access_token);
    Ok(match parsed.expires_in {
        Some(seconds) => Token::new(
            secret,
            Some(SystemTime::now() + Duration::from_secs(seconds)),
        ),
        None => Token::from_jwt_or_opaque(secret),
    })
}
