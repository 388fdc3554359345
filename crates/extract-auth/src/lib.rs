//! Access tokens for Kensho Extract.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_auth::{CachedTokenSource, ClientAssertion, KeypairSource, TokenSource, http};
//! use extract_keys::PrivateKey;
//!
//! let key = PrivateKey::load("private.pem")?;
//! let token_url = extract_auth::KENSHO_TOKEN_URL;
//! let assertion = ClientAssertion::new(&key, "0oa-your-client-id", token_url);
//! let source = CachedTokenSource::new(KeypairSource::new(http::client_builder().build()?, token_url, assertion)?);
//! let token = source.token().await?; // one exchange…
//! let again = source.token().await?; // …then the cached token, until it nears expiry
//! assert_eq!(token, again);
//! # Ok(())
//! # }
//! ```
//!
//! Three ways to a token, as Kensho offers them: the production **keypair** flow (an RS256
//! client assertion, made with jsonwebtoken and signed by ring, exchanged at Okta), a
//! **refresh token** from the account page, or a **given** access token. All implement
//! [`TokenSource`]; [`CachedTokenSource`] adds caching, refresh ahead of expiry, single flight
//! and retries. [`AuthConfig`] picks the method from flags and `KENSHO_*` variables.
//!
//! Secrets ([`Secret`]) never appear in `Debug`, `Display`, errors or logs; URLs are shown
//! without their query, where a refresh token travels.
#![warn(missing_docs)]

mod assertion;
pub mod backoff;
mod cache;
mod config;
mod endpoint;
mod error;
mod given;
pub mod http;
mod keypair;
mod kind;
mod refresh;
pub mod ring_provider;
mod secret;
mod source;
mod token;

pub use assertion::{ClientAssertion, MAX_ASSERTION_LIFETIME};
pub use cache::{CachePolicy, CachedTokenSource};
pub use config::{AuthConfig, KENSHO_EXTRACT_API_URL, Method, env};
pub use endpoint::{checked_url, redacted};
pub use error::{AuthError, SharedError};
pub use given::GivenToken;
pub use keypair::{EXTRACT_SCOPE, KENSHO_TOKEN_URL, KeypairSource};
pub use kind::{Chain, ErrorKind};
pub use refresh::RefreshTokenSource;
pub use secret::Secret;
#[cfg(any(test, feature = "mock"))]
pub use source::MockTokenSource;
pub use source::TokenSource;
pub use token::{MAX_TOKEN_LIFETIME, Token};
