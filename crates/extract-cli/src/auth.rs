//! `kensho-extract auth`: get, show and check credentials; and the flags every API command shares.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use extract_auth::{TokenSource, env, http};

use crate::Failure;
use crate::settings::{self, Settings};

/// How to reach and authenticate to Kensho: flags, else `KENSHO_*` environment variables, else
/// the profile (see `settings.rs`), else the defaults. Every one is accepted anywhere on the line.
/// Exactly one method is used: access token, else keypair, else refresh token.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection (flag, else KENSHO_* variable, else profile)")]
pub struct AuthArgs {
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

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Print an access token, and nothing else, on stdout:
    /// `curl -H "Authorization: Bearer $(kensho-extract auth token)" …`
    Token,
    /// Print a freshly signed client assertion (keypair method), for debugging.
    Assertion,
    /// Get a token, check that the API accepts it, and say how it was obtained and when it expires.
    Verify {
        /// One JSON object: `method`, `expires_in_seconds` (null if unknown), `api_url`, `accepted`.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AuthCommand, args: &Settings) -> Result<(), Failure> {
    match command {
        AuthCommand::Assertion => {
            let assertion = args.config()?.client_assertion()?.sign()?;
            writeln!(std::io::stdout(), "{}", assertion.expose())?;
            Ok(())
        }
        AuthCommand::Token => crate::block_on(async {
            let token = args.token_source()?.token().await?;
            writeln!(std::io::stdout(), "{}", token.secret().expose())?;
            Ok(())
        }),
        AuthCommand::Verify { json } => crate::block_on(verify(args, json)),
    }
}

async fn verify(args: &Settings, json: bool) -> Result<(), Failure> {
    let source = args.token_source()?;
    let token = source.token().await?;
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(out, "method:  {}", source.method())?;
        match token.remaining() {
            Some(left) => writeln!(out, "expires: in {}", human(left))?,
            None => writeln!(out, "expires: unknown (the token is not a JWT)")?,
        }
    }
    // There is no "who am I" endpoint: an unknown request id answers 404 to a good token, 401
    // to a bad one.
    let api = extract_auth::checked_url(&args.api_url.value, "API URL")?;
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
        404 if json => {
            let document = serde_json::json!({
                "method": source.method().to_string(),
                "expires_in_seconds": token.remaining().map(|left| left.as_secs()),
                "api_url": extract_auth::redacted(&api).to_string(),
                "accepted": true,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
            Ok(())
        }
        404 => {
            writeln!(
                out,
                "API:     {} accepted the token",
                extract_auth::redacted(&api)
            )?;
            Ok(())
        }
        401 | 403 => Err(crate::exit::coded(
            crate::exit::CREDENTIALS_REFUSED,
            format!(
                "the API at {} refused the token (HTTP {status}): check the credentials",
                extract_auth::redacted(&api)
            ),
        )),
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
