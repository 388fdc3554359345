//! `kensho-extract cache stats|clear|path`, and where the output cache lives.

use std::io::Write;
use std::path::PathBuf;

use base64::Engine;
use clap::Subcommand;
use extract_batch::{CacheScope, OutputCache};

use crate::Failure;
use crate::settings::{Settings, TokenSetting};

/// The environment variable that puts the cache elsewhere (a shared disk, a test's folder).
pub const CACHE_DIR_ENV: &str = "KENSHO_EXTRACT_CACHE_DIR";

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// How many output documents the cache holds, and their size, by service.
    Stats {
        /// One JSON object: `path`, `entries`, `bytes`, and `services` (each a `service`,
        /// `entries`, `bytes`).
        #[arg(long)]
        json: bool,
    },
    /// Delete every cached output document (outputs written to folders stay).
    Clear,
    /// Print the cache's folder.
    Path,
}

/// `$KENSHO_EXTRACT_CACHE_DIR`, else the user's cache directory (`~/.cache/kensho-extract/outputs`
/// on Linux).
pub fn dir() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "kensho-extract")
        .map(|dirs| dirs.cache_dir().join("outputs"))
        .ok_or_else(|| {
            format!(
                "no cache directory is known for this user: set {CACHE_DIR_ENV}, or pass --no-cache"
            )
            .into()
        })
}

/// Whom a run's outputs are cached for: the service (`settings`' API URL, without
/// credentials) and the account it authenticates as: the client id, or for an access token the
/// client (`cid`) and subject (`sub`) it names, read from it without verification (the token
/// itself is never kept). Also the settings to build the client with: a profile's token
/// command is run here, once, and its output used in its place. `Err` inside: why no account
/// can be known before a token exchange (an opaque token, or a refresh token, without a client
/// id); the cache is then not used.
pub fn scope(settings: &Settings) -> Result<(Settings, Result<CacheScope, String>), Failure> {
    let mut settings = settings.clone();
    let client = settings
        .client_id
        .value
        .clone()
        .map(|id| format!("client:{id}"));
    let account = match settings.access_token.value.clone() {
        Some(token) => {
            let token = match token {
                TokenSetting::Given(token) => token,
                TokenSetting::Command(_) => {
                    let token = settings
                        .config()?
                        .access_token
                        .ok_or("the profile's token command gave no token")?;
                    settings.access_token.value = Some(TokenSetting::Given(token.clone()));
                    token
                }
            };
            token_account(token.expose()).or(client).ok_or_else(|| {
                "the access token is not a JWT naming its client, and no client id is set"
                    .to_string()
            })
        }
        None => client.ok_or_else(|| {
            "a refresh token names its account only once exchanged, and no client id is set"
                .to_string()
        }),
    };
    let scope = account.and_then(|account| {
        CacheScope::new(&settings.api_url.value, &account).map_err(|e| e.to_string())
    });
    Ok((settings, scope))
}

/// The account a JWT access token was issued to: its client (`cid`), and its subject (`sub`)
/// when that is someone else (a user's token); read without verification, as only the service
/// can verify it and the cache only needs to tell accounts apart.
fn token_account(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let claim = |name: &str| claims.get(name)?.as_str().filter(|v| !v.is_empty());
    match (claim("cid"), claim("sub")) {
        (Some(cid), Some(sub)) if sub != cid => Some(format!("client:{cid} subject:{sub}")),
        (Some(cid), _) => Some(format!("client:{cid}")),
        (None, Some(sub)) => Some(format!("subject:{sub}")),
        (None, None) => None,
    }
}

pub fn run(command: CacheCommand) -> Result<(), Failure> {
    let cache = OutputCache::new(dir()?);
    let mut out = std::io::stdout().lock();
    match command {
        CacheCommand::Path => writeln!(out, "{}", cache.dir().display())?,
        CacheCommand::Stats { json } => {
            let services = cache
                .service_stats()
                .map_err(|e| format!("cannot read the cache at {}: {e}", cache.dir().display()))?;
            let entries: u64 = services.iter().map(|s| s.stats.entries).sum();
            let bytes: u64 = services.iter().map(|s| s.stats.bytes).sum();
            if json {
                let services: Vec<_> = services
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "service": s.service,
                            "entries": s.stats.entries,
                            "bytes": s.stats.bytes,
                        })
                    })
                    .collect();
                let document = serde_json::json!({
                    "path": cache.dir().display().to_string(),
                    "entries": entries,
                    "bytes": bytes,
                    "services": services,
                });
                writeln!(out, "{document}")?;
            } else {
                for group in &services {
                    writeln!(
                        out,
                        "{}: {} output document(s), {} bytes",
                        group.service.as_deref().unwrap_or(
                            "(no service recorded: an earlier cache format, never read)"
                        ),
                        group.stats.entries,
                        group.stats.bytes,
                    )?;
                }
                writeln!(
                    out,
                    "total: {entries} output document(s), {bytes} bytes, in {}",
                    cache.dir().display()
                )?;
            }
        }
        CacheCommand::Clear => {
            let cleared = cache
                .clear()
                .map_err(|e| format!("cannot clear the cache at {}: {e}", cache.dir().display()))?;
            writeln!(
                out,
                "deleted {} output document(s), {} bytes, from {}",
                cleared.entries,
                cleared.bytes,
                cache.dir().display()
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(claims))
    }

    #[test]
    fn a_token_names_its_client_and_user_and_nothing_else_is_an_account() {
        assert_eq!(
            token_account(&jwt(r#"{"cid":"0oaA","sub":"0oaA","exp":1}"#)).as_deref(),
            Some("client:0oaA"),
            "a client's own token: the same account as its key"
        );
        assert_eq!(
            token_account(&jwt(r#"{"cid":"0oaA","sub":"ann@example.com"}"#)).as_deref(),
            Some("client:0oaA subject:ann@example.com")
        );
        assert_eq!(
            token_account(&jwt(r#"{"sub":"ann"}"#)).as_deref(),
            Some("subject:ann")
        );
        for opaque in [
            "opaque-token",
            "a.b.c",
            "a.b.c.d",
            &jwt(r#"{"cid":7}"#),
            &jwt("[]"),
            &jwt(r#"{"cid":""}"#),
        ] {
            assert_eq!(token_account(opaque), None, "{opaque}");
        }
    }
}
