//! `kensho-extract auth`: get, show and check credentials; and the flags every API command shares.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use extract_auth::{AuthConfig, CachePolicy, CachedTokenSource, Secret, TokenSource, env, http};

use crate::Failure;

/// How to reach and authenticate to Kensho: flags, else `KENSHO_*` environment variables.
/// Exactly one method is used: access token, else keypair, else refresh token.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// API base URL.
    #[arg(long, global = true, env = env::API_URL, default_value = extract_auth::KENSHO_EXTRACT_API_URL)]
    pub api_url: String,
    /// Okta token endpoint (keypair method).
    #[arg(long, global = true, env = env::TOKEN_URL, default_value = extract_auth::KENSHO_TOKEN_URL)]
    token_url: String,
    /// Client ID Kensho gave for your public key (keypair method).
    #[arg(long, global = true, env = env::CLIENT_ID)]
    client_id: Option<String>,
    /// Private key file (keypair method).
    #[arg(long, global = true, env = env::PRIVATE_KEY)]
    private_key: Option<PathBuf>,
    /// Refresh token from your account page (prefer the environment variable: flags show in `ps`).
    #[arg(long, global = true, env = env::REFRESH_TOKEN, hide_env_values = true)]
    refresh_token: Option<String>,
    /// Access token from your account page (prefer the environment variable: flags show in `ps`).
    #[arg(long, global = true, env = env::ACCESS_TOKEN, hide_env_values = true)]
    access_token: Option<String>,
    /// The longest any one request may go unanswered, in seconds: an API call, a token
    /// exchange (with its retries), or the answer to an uploaded document.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
}

impl AuthArgs {
    pub fn config(&self) -> AuthConfig {
        let set = |v: &Option<String>| v.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        let mut config = AuthConfig::default()
            .with_api_url(&self.api_url)
            .with_token_url(&self.token_url);
        config.client_id = set(&self.client_id);
        config.private_key = self
            .private_key
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        config.refresh_token = set(&self.refresh_token).map(Secret::new);
        config.access_token = set(&self.access_token).map(Secret::new);
        config
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }

    /// How tokens are cached and retried: no exchange, and no refresh with its retries, takes
    /// longer than the request timeout.
    fn token_policy(&self) -> CachePolicy {
        let limit = self.request_timeout();
        let mut policy = CachePolicy::default();
        policy.exchange_timeout = policy.exchange_timeout.min(limit);
        policy.deadline = limit;
        policy
    }

    /// An API client for these settings.
    pub fn client(&self) -> Result<extract_api::Client, Failure> {
        let limit = self.request_timeout();
        Ok(extract_api::Client::builder()
            .auth_config(&self.config())?
            .token_policy(self.token_policy())
            .timeout(limit)
            .response_timeout(limit)
            .stall_timeout(limit)
            .build()?)
    }

    /// The cached token source of the configured method.
    pub fn token_source(&self) -> Result<CachedTokenSource<Box<dyn TokenSource>>, Failure> {
        let client = http::client_builder().build()?;
        Ok(CachedTokenSource::with_policy(
            self.config().token_source(client)?,
            self.token_policy(),
        ))
    }
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Print an access token, and nothing else, on stdout:
    /// `curl -H "Authorization: Bearer $(kensho-extract auth token)" …`
    Token,
    /// Print a freshly signed client assertion (keypair method), for debugging.
    Assertion,
    /// Get a token, check that the API accepts it, and say how it was obtained and when it expires.
    Verify,
}

pub fn run(command: AuthCommand, args: &AuthArgs) -> Result<(), Failure> {
    match command {
        AuthCommand::Assertion => {
            let assertion = args.config().client_assertion()?.sign()?;
            writeln!(std::io::stdout(), "{}", assertion.expose())?;
            Ok(())
        }
        AuthCommand::Token => crate::block_on(async {
            let token = args.token_source()?.token().await?;
            writeln!(std::io::stdout(), "{}", token.secret().expose())?;
            Ok(())
        }),
        AuthCommand::Verify => crate::block_on(verify(args)),
    }
}

async fn verify(args: &AuthArgs) -> Result<(), Failure> {
    let source = args.token_source()?;
    let token = source.token().await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "method:  {}", source.method())?;
    match token.remaining() {
        Some(left) => writeln!(out, "expires: in {}", human(left))?,
        None => writeln!(out, "expires: unknown (the token is not a JWT)")?,
    }
    // There is no "who am I" endpoint: an unknown request id answers 404 to a good token, 401
    // to a bad one.
    let api = extract_auth::checked_url(&args.api_url, "API URL")?;
    let probe = api.join(&format!("v3/extractions/{}", uuid::Uuid::new_v4()))?;
    let status = http::client_builder()
        .build()?
        .get(probe)
        .bearer_auth(token.secret().expose())
        .timeout(args.request_timeout())
        .send()
        .await
        .map_err(|e| {
            format!(
                "could not reach the API at {}: {e}",
                extract_auth::redacted(&api)
            )
        })?
        .status()
        .as_u16();
    match status {
        404 => {
            writeln!(
                out,
                "API:     {} accepted the token",
                extract_auth::redacted(&api)
            )?;
            Ok(())
        }
        401 | 403 => Err(format!(
            "the API at {} refused the token (HTTP {status}): check the credentials",
            extract_auth::redacted(&api)
        )
        .into()),
        other => Err(format!(
            "the API at {} answered HTTP {other} to the probe; it may be down",
            extract_auth::redacted(&api)
        )
        .into()),
    }
}

/// `59m 58s`, `1h 02m`, `12s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human(Duration::from_secs(12)), "12s");
        assert_eq!(human(Duration::from_secs(3598)), "59m 58s");
        assert_eq!(human(Duration::from_secs(3720)), "1h 02m");
    }
}
