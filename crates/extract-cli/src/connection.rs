//! The flags every command that talks to Kensho shares: where the service is and how to
//! authenticate, each also a `KENSHO_*` variable and a profile setting (`settings.rs`).

use std::path::PathBuf;

use clap::Args;
use extract_auth::env;

use crate::settings;

/// How to reach and authenticate to Kensho: flags, else `KENSHO_*` environment variables, else
/// the profile (see `settings.rs`), else the defaults. Every one is accepted anywhere on the line.
/// Exactly one method is used: access token, else keypair, else refresh token.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection (flag, else KENSHO_* variable, else profile)")]
pub struct ConnectionArgs {
    /// Profile of the config file to use (`kensho-extract config show` lists the settings).
    #[arg(long, global = true, env = settings::PROFILE_ENV, value_name = "NAME")]
    pub profile: Option<String>,
    /// API base URL [default: https://extract.kensho.com].
    #[arg(long, global = true, env = env::API_URL, value_name = "URL")]
    pub api_url: Option<String>,
    /// Okta token endpoint (keypair method) [default: Kensho's].
    #[arg(long, global = true, env = env::TOKEN_URL, value_name = "URL")]
    pub token_url: Option<String>,
    /// Client ID Kensho gave for your public key (keypair method).
    #[arg(long, global = true, env = env::CLIENT_ID, value_name = "ID")]
    pub client_id: Option<String>,
    /// Private key file (keypair method).
    #[arg(long, global = true, env = env::PRIVATE_KEY, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Refresh token from your account page (prefer the environment variable: flags show in `ps`).
    #[arg(long, global = true, env = env::REFRESH_TOKEN, hide_env_values = true, value_name = "TOKEN")]
    pub refresh_token: Option<String>,
    /// Access token from your account page (prefer the environment variable: flags show in `ps`).
    #[arg(long, global = true, env = env::ACCESS_TOKEN, hide_env_values = true, value_name = "TOKEN")]
    pub access_token: Option<String>,
    /// The longest any one request may go unanswered, in seconds: an API call, a token
    /// exchange (with its retries), or the answer to an uploaded document [default: 60].
    #[arg(long, global = true, env = settings::REQUEST_TIMEOUT_ENV, value_name = "SECONDS", value_parser = request_seconds)]
    pub request_timeout: Option<u64>,
    /// At most this many requests a second to Kensho from this process; within it the rate
    /// adapts to the service's 429s [default: no cap].
    #[arg(long, global = true, env = settings::MAX_RPS_ENV, value_name = "RPS", value_parser = positive_rate)]
    pub max_rps: Option<f64>,
}

/// A request timeout in seconds: a whole number from 1 to 3600. The one check of
/// `--request-timeout`, `KENSHO_REQUEST_TIMEOUT` and a profile's `request-timeout`.
pub fn request_seconds(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(seconds) if (1..=3600).contains(&seconds) => Ok(seconds),
        _ => Err("must be a whole number of seconds from 1 to 3600".into()),
    }
}

/// A rate in requests per second: a positive number. The one check of `--max-rps`,
/// `KENSHO_MAX_RPS` and a profile's `max-rps`.
pub fn positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err("must be a positive number of requests per second".into()),
    }
}
