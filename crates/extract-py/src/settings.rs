//! A client's settings with the CLI's precedence: a keyword argument, else its `KENSHO_*`
//! variable, else the profile (`[profiles.NAME]` of `$KENSHO_CONFIG`, else the per-user
//! `config.toml`; `KENSHO_PROFILE` or `profile=` names it, `default` if the file has one), else
//! the default. The file's keys, and their checks, are the CLI's (`docs/config.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use extract_api::ErrorKind;
use extract_auth::{AuthConfig, CachePolicy, Secret, env};
use serde::Deserialize;

use crate::failure::{Failure, Result};

/// The environment variable naming the profile.
const PROFILE_ENV: &str = "KENSHO_PROFILE";
/// The environment variable naming the config file.
const CONFIG_ENV: &str = "KENSHO_CONFIG";
const REQUEST_TIMEOUT_ENV: &str = "KENSHO_REQUEST_TIMEOUT";
const MAX_RPS_ENV: &str = "KENSHO_MAX_RPS";
const DEFAULT_REQUEST_TIMEOUT: u64 = 60;

/// What the caller gave as keyword arguments.
#[derive(Debug, Default)]
pub struct Given {
    pub profile: Option<String>,
    pub api_url: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub private_key: Option<PathBuf>,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    pub request_timeout: Option<f64>,
    pub max_rps: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Profile {
    api_url: Option<String>,
    token_url: Option<String>,
    client_id: Option<String>,
    private_key: Option<PathBuf>,
    request_timeout: Option<toml::Value>,
    max_rps: Option<toml::Value>,
    access_token_command: Option<String>,
    refresh_token_command: Option<String>,
}

/// The settings, resolved.
#[derive(Debug)]
pub struct Settings {
    pub auth: AuthConfig,
    pub request_timeout: Duration,
    pub max_rps: Option<f64>,
}

fn config_error(message: impl Into<String>) -> Failure {
    Failure::new(ErrorKind::Config, message)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn resolve(given: Given) -> Result<Settings> {
        let profile = profile(given.profile.clone().or_else(|| var(PROFILE_ENV)))?;
        let pick = |given: Option<String>, name: &str, profile: &Option<String>| {
            given
                .filter(|v| !v.trim().is_empty())
                .or_else(|| var(name))
                .or_else(|| profile.clone())
        };
        let token = |given: Option<Secret>, name: &str, command: &Option<String>| match given
            .or_else(|| var(name).map(Secret::new))
        {
            Some(token) => Ok(Some(token)),
            None => command.as_deref().map(run_token).transpose(),
        };
        let mut auth = AuthConfig::default();
        auth.api_url = pick(given.api_url, env::API_URL, &profile.api_url);
        auth.token_url = pick(given.token_url, env::TOKEN_URL, &profile.token_url);
        auth.client_id = pick(given.client_id, env::CLIENT_ID, &profile.client_id);
        auth.private_key = given
            .private_key
            .or_else(|| var(env::PRIVATE_KEY).map(PathBuf::from))
            .or_else(|| profile.private_key.as_deref().map(expand_home));
        // A token command runs only for the method that will be used: an access token first.
        auth.access_token = token(
            given.access_token,
            env::ACCESS_TOKEN,
            &profile.access_token_command,
        )?;
        if auth.access_token.is_none() && auth.private_key.is_none() {
            auth.refresh_token = token(
                given.refresh_token,
                env::REFRESH_TOKEN,
                &profile.refresh_token_command,
            )?;
        }
        let number = |given: Option<f64>, name: &str, key: &str, written: &Option<toml::Value>| {
            if let Some(n) = given {
                return Ok(Some(n));
            }
            let text = match (var(name), written) {
                (Some(text), _) => text,
                (None, Some(toml::Value::Integer(n))) => n.to_string(),
                (None, Some(toml::Value::Float(x))) => x.to_string(),
                (None, Some(toml::Value::String(s))) => s.clone(),
                (None, Some(other)) => {
                    return Err(config_error(format!(
                        "profile: {key} is a {}, not a number",
                        other.type_str()
                    )));
                }
                (None, None) => return Ok(None),
            };
            text.trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| config_error(format!("{key} = {text:?}: not a number")))
        };
        let timeout = number(
            given.request_timeout,
            REQUEST_TIMEOUT_ENV,
            "request-timeout",
            &profile.request_timeout,
        )?
        .unwrap_or(DEFAULT_REQUEST_TIMEOUT as f64);
        if !(1.0..=3600.0).contains(&timeout) {
            return Err(config_error(format!(
                "request_timeout = {timeout}: must be from 1 to 3600 seconds"
            )));
        }
        let max_rps = number(given.max_rps, MAX_RPS_ENV, "max-rps", &profile.max_rps)?;
        if let Some(rate) = max_rps
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(config_error(format!(
                "max_rps = {rate}: must be a positive number of requests per second"
            )));
        }
        Ok(Settings {
            auth,
            request_timeout: Duration::from_secs_f64(timeout),
            max_rps,
        })
    }

    /// The warning for a private key file its group or others can open (as ssh and the CLI
    /// give it), or `None`. The key is used all the same; a key that cannot be read is left to
    /// the loading, which says why.
    pub fn open_key_warning(&self) -> Option<String> {
        #[cfg(unix)]
        {
            let path = self.auth.private_key.as_deref()?;
            let mode = extract_keys::open_to_others(path).ok()??;
            // Quoted with its control characters escaped: a file name cannot write to the terminal.
            Some(format!(
                "private key {:?} is open to group or others (mode {mode:04o}): run chmod 600 on it",
                path.display().to_string()
            ))
        }
        #[cfg(not(unix))]
        None
    }

    /// The API client these settings describe: no exchange or refresh, with its retries, and
    /// no request takes longer than the request timeout; one adaptive rate for the client.
    pub fn client(&self) -> Result<extract_api::Client> {
        let limit = self.request_timeout;
        let mut policy = CachePolicy::default();
        policy.exchange_timeout = policy.exchange_timeout.min(limit);
        policy.deadline = limit;
        Ok(extract_api::Client::builder()
            .auth_config(&self.auth)?
            .token_policy(policy)
            .timeout(limit)
            .response_timeout(limit)
            .stall_timeout(limit)
            .rate_budget(Arc::new(extract_api::RateBudget::new(
                self.max_rps.unwrap_or(f64::INFINITY),
            )))
            .build()?)
    }
}

/// The profile `name` names, or `default` when none is named and the file has one.
fn profile(name: Option<String>) -> Result<Profile> {
    let path = var(CONFIG_ENV).map(PathBuf::from).or_else(|| {
        directories::ProjectDirs::from("", "", "kensho-extract")
            .map(|dirs| dirs.config_dir().join("config.toml"))
    });
    let file = match path.as_deref().map(read_config).transpose()? {
        Some(Some(file)) => file,
        _ if name.is_some() => {
            return Err(config_error(format!(
                "profile {:?} was asked for, but there is no config file at {}",
                name.unwrap_or_default(),
                path.map_or_else(
                    || "(no config directory)".into(),
                    |p| p.display().to_string()
                )
            )));
        }
        _ => return Ok(Profile::default()),
    };
    let mut profiles = file.profiles;
    match name {
        Some(name) => profiles.remove(&name).ok_or_else(|| {
            let known: Vec<_> = profiles.keys().cloned().collect();
            config_error(format!(
                "no profile {name:?} in {} (it has: {})",
                path.unwrap_or_default().display(),
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        }),
        None => Ok(profiles.remove("default").unwrap_or_default()),
    }
}

fn read_config(path: &Path) -> Result<Option<ConfigFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(config_error(format!(
                "cannot read the config file {}: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        config_error(format!(
            "the config file {} is not valid: {}",
            path.display(),
            e.message().trim_end()
        ))
    })
}

/// A profile's token command's first line of output: the token.
fn run_token(command: &str) -> Result<Secret> {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| {
            config_error(format!(
                "cannot run the profile's token command `{command}`: {e}"
            ))
        })?;
    if !output.status.success() {
        return Err(config_error(format!(
            "the profile's token command `{command}` failed ({})",
            output.status
        )));
    }
    String::from_utf8(output.stdout)
        .ok()
        .and_then(|out| out.lines().next().map(|l| l.trim().to_string()))
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .ok_or_else(|| {
            config_error(format!(
                "the profile's token command `{command}` printed no token"
            ))
        })
}

/// `~/keys/private.pem`: the home directory's `keys/private.pem`.
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => path.to_path_buf(),
    }
}
