//! The trial and development flow: a refresh token copied from the account page.

use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use crate::endpoint::checked_url;
use crate::http::send_error;
use crate::keypair::read_token_response;
use crate::{AuthError, Secret, Token, TokenSource};

/// The query parameter Kensho's refresh endpoint reads. Sibling products spell it
/// `refreshToken`; it lives here alone so that a change is one line.
const REFRESH_TOKEN_PARAM: &str = "refresh_token";
/// The refresh endpoint, relative to the API base URL.
const REFRESH_PATH: &str = "oauth2/refresh";

/// Exchanges a refresh token at `GET {api}/oauth2/refresh` on every call.
///
/// The refresh token travels in the query string, as the service requires; every URL this
/// crate logs or puts in an error has its query redacted.
#[derive(Debug, Clone)]
pub struct RefreshTokenSource {
    http: reqwest::Client,
    endpoint: Url,
    refresh_token: Secret,
    timeout: Duration,
}

impl RefreshTokenSource {
    /// A source for `refresh_token` at the API whose base URL is `api_url`.
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        refresh_token: Secret,
    ) -> Result<Self, AuthError> {
        let mut base = checked_url(api_url, "API URL")?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let endpoint = base
            .join(REFRESH_PATH)
            .map_err(|e| AuthError::Config(format!("cannot build the refresh URL: {e}")))?;
        Ok(RefreshTokenSource {
            http,
            endpoint,
            refresh_token,
            timeout: Duration::from_secs(30),
        })
    }
}

#[async_trait]
impl TokenSource for RefreshTokenSource {
    async fn token(&self) -> Result<Token, AuthError> {
        let mut url = self.endpoint.clone();
        url.query_pairs_mut()
            .append_pair(REFRESH_TOKEN_PARAM, self.refresh_token.expose());
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| send_error(&self.endpoint, e, self.timeout))?;
        read_token_response(&self.endpoint, response, self.timeout).await
    }

    fn method(&self) -> &'static str {
        "refresh token"
    }
}
