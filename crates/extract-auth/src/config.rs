//! Which way to authenticate, from flags and the environment.

use std::path::PathBuf;

use extract_keys::PrivateKey;

use crate::keypair::KENSHO_TOKEN_URL;
use crate::{
    AuthError, ClientAssertion, GivenToken, KeypairSource, RefreshTokenSource, Secret, TokenSource,
};

/// Kensho Extract's API.
pub const KENSHO_EXTRACT_API_URL: &str = "https://extract.kensho.com";

/// The environment variables, in one place.
pub mod env {
    /// The API base URL.
    pub const API_URL: &str = "KENSHO_EXTRACT_API_URL";
    /// The Okta token endpoint.
    pub const TOKEN_URL: &str = "KENSHO_TOKEN_URL";
    /// The client id Kensho gave for the public key.
    pub const CLIENT_ID: &str = "KENSHO_CLIENT_ID";
    /// The path of the private key file.
    pub const PRIVATE_KEY: &str = "KENSHO_PRIVATE_KEY";
    /// A refresh token from the account page.
    pub const REFRESH_TOKEN: &str = "KENSHO_REFRESH_TOKEN";
    /// An access token from the account page.
    pub const ACCESS_TOKEN: &str = "KENSHO_ACCESS_TOKEN";
}

/// Everything that decides how tokens are obtained. Empty strings count as unset.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthConfig {
    /// API base URL (default [`KENSHO_EXTRACT_API_URL`]).
    pub api_url: Option<String>,
    /// Token endpoint (default [`KENSHO_TOKEN_URL`]).
    pub token_url: Option<String>,
    /// Client id, for the keypair method.
    pub client_id: Option<String>,
    /// Private key file, for the keypair method.
    pub private_key: Option<PathBuf>,
    /// Refresh token.
    pub refresh_token: Option<Secret>,
    /// A given access token.
    pub access_token: Option<Secret>,
}

/// The method a configuration selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// A given access token.
    AccessToken,
    /// Client id and private key.
    Keypair,
    /// A refresh token.
    RefreshToken,
}

impl AuthConfig {
    /// Sets the API base URL.
    #[must_use]
    pub fn with_api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = Some(url.into());
        self
    }

    /// Sets the token endpoint.
    #[must_use]
    pub fn with_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Sets the client id (keypair method).
    #[must_use]
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the private key file (keypair method).
    #[must_use]
    pub fn with_private_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.private_key = Some(path.into());
        self
    }

    /// Sets a refresh token.
    #[must_use]
    pub fn with_refresh_token(mut self, token: Secret) -> Self {
        self.refresh_token = Some(token);
        self
    }

    /// Sets a given access token.
    #[must_use]
    pub fn with_access_token(mut self, token: Secret) -> Self {
        self.access_token = Some(token);
        self
    }
    /// Reads the `KENSHO_*` environment variables.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        AuthConfig {
            api_url: var(env::API_URL),
            token_url: var(env::TOKEN_URL),
            client_id: var(env::CLIENT_ID),
            private_key: var(env::PRIVATE_KEY).map(PathBuf::from),
            refresh_token: var(env::REFRESH_TOKEN).map(Secret::new),
            access_token: var(env::ACCESS_TOKEN).map(Secret::new),
        }
    }

    /// The API base URL to use.
    pub fn api_url(&self) -> &str {
        self.api_url.as_deref().unwrap_or(KENSHO_EXTRACT_API_URL)
    }

    /// The token URL to use.
    pub fn token_url(&self) -> &str {
        self.token_url.as_deref().unwrap_or(KENSHO_TOKEN_URL)
    }

    /// Exactly one method, by precedence: access token, then keypair, then refresh token.
    pub fn method(&self) -> Result<Method, AuthError> {
        if self.access_token.is_some() {
            return Ok(Method::AccessToken);
        }
        match (&self.client_id, &self.private_key) {
            (Some(_), Some(_)) => return Ok(Method::Keypair),
            (Some(_), None) => {
                return Err(AuthError::Config(format!(
                    "{} is set but {} is not: set it to the path of your private key",
                    env::CLIENT_ID,
                    env::PRIVATE_KEY
                )));
            }
            (None, Some(_)) => {
                return Err(AuthError::Config(format!(
                    "{} is set but {} is not: set it to the Client ID Kensho gave you for your public key",
                    env::PRIVATE_KEY,
                    env::CLIENT_ID
                )));
            }
            (None, None) => {}
        }
        if self.refresh_token.is_some() {
            return Ok(Method::RefreshToken);
        }
        Err(AuthError::NotConfigured)
    }

    /// The client assertion signer of the keypair method.
    pub fn client_assertion(&self) -> Result<ClientAssertion, AuthError> {
        let (Some(client_id), Some(path)) = (&self.client_id, &self.private_key) else {
            return Err(AuthError::Config(format!(
                "a client assertion needs {} and {}",
                env::CLIENT_ID,
                env::PRIVATE_KEY
            )));
        };
        let key = PrivateKey::load(path)?;
        Ok(ClientAssertion::new(
            &key,
            client_id.clone(),
            self.token_url(),
        ))
    }

    /// The token source of the selected method (uncached: wrap it in
    /// [`crate::CachedTokenSource`]).
    pub fn token_source(&self, http: reqwest::Client) -> Result<Box<dyn TokenSource>, AuthError> {
        Ok(match self.method()? {
            Method::AccessToken => Box::new(GivenToken::new(
                self.access_token.clone().unwrap_or_else(|| Secret::new("")),
            )),
            Method::Keypair => Box::new(KeypairSource::new(
                http,
                self.token_url(),
                self.client_assertion()?,
            )?),
            Method::RefreshToken => Box::new(RefreshTokenSource::new(
                http,
                self.api_url(),
                self.refresh_token
                    .clone()
                    .unwrap_or_else(|| Secret::new("")),
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig::default()
    }

    #[test]
    fn precedence_is_access_token_then_keypair_then_refresh_token() {
        let all = AuthConfig {
            access_token: Some(Secret::new("a")),
            client_id: Some("c".into()),
            private_key: Some("k.pem".into()),
            refresh_token: Some(Secret::new("r")),
            ..config()
        };
        assert_eq!(all.method().ok(), Some(Method::AccessToken));
        let keypair_and_refresh = AuthConfig {
            access_token: None,
            ..all.clone()
        };
        assert_eq!(keypair_and_refresh.method().ok(), Some(Method::Keypair));
        let refresh = AuthConfig {
            refresh_token: Some(Secret::new("r")),
            ..config()
        };
        assert_eq!(refresh.method().ok(), Some(Method::RefreshToken));
    }

    #[test]
    fn nothing_or_half_a_keypair_names_the_variables() {
        let none = config()
            .method()
            .expect_err("nothing configured")
            .to_string();
        for name in [
            env::ACCESS_TOKEN,
            env::CLIENT_ID,
            env::PRIVATE_KEY,
            env::REFRESH_TOKEN,
        ] {
            assert!(none.contains(name), "{none}");
        }
        let half = AuthConfig {
            client_id: Some("c".into()),
            refresh_token: Some(Secret::new("r")),
            ..config()
        };
        assert!(
            half.method()
                .expect_err("half")
                .to_string()
                .contains(env::PRIVATE_KEY)
        );
    }

    #[test]
    fn defaults_are_the_real_service() {
        assert_eq!(config().api_url(), "https://extract.kensho.com");
        assert_eq!(
            config().token_url(),
            "https://kensho.okta.com/oauth2/default/v1/token"
        );
    }
}
