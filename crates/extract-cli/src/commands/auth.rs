//! `kensho-extract auth`: get, show and check credentials.

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use extract_auth::{TokenSource, http};

use crate::Failure;
use crate::settings::Settings;

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
