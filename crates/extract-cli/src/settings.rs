//! Where each connection setting comes from: a flag, else an environment variable, else the
//! chosen profile of the config file, else the built-in default.
//!
//! Profiles hold no secret values: the key is a path, and tokens come from the environment or
//! from a command the profile names (`access-token-command = "pass show kensho/token"`), run only
//! when a token is needed and nothing above the profile gave one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ArgMatches;
use clap::parser::ValueSource;
use extract_auth::{AuthConfig, CachePolicy, CachedTokenSource, Secret, TokenSource, env, http};
use serde::Deserialize;

use crate::Failure;
use crate::connection::ConnectionArgs;

/// The environment variable naming the profile when `--profile` does not.
pub const PROFILE_ENV: &str = "KENSHO_PROFILE";
/// The environment variable naming the config file, in place of the per-user one.
pub const CONFIG_ENV: &str = "KENSHO_CONFIG";
/// The profile used when none is named, if the file has it.
const DEFAULT_PROFILE: &str = "default";
/// The request timeout when nothing sets one, in seconds.
const DEFAULT_REQUEST_TIMEOUT: u64 = 60;

/// The config file: `[profiles.NAME]` tables.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One profile. Unknown keys are refused, a token value above all: the message says what to use.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Profile {
    api_url: Option<String>,
    token_url: Option<String>,
    client_id: Option<String>,
    private_key: Option<PathBuf>,
    /// Numbers as written: checked by their flag's own parser ([`Profile::checked`]).
    request_timeout: Option<toml::Value>,
    max_rps: Option<toml::Value>,
    access_token_command: Option<String>,
    refresh_token_command: Option<String>,
}

impl Profile {
    /// The value of `key` in profile `profile` of `file`, through `parse`, the parser of the
    /// key's flag and environment variable: a value that flag would refuse is refused here too,
    /// in one line naming the file, the profile and the key.
    fn checked<T>(
        value: Option<&toml::Value>,
        key: &str,
        parse: fn(&str) -> Result<T, String>,
        (file, profile): (&Path, &str),
    ) -> Result<Option<T>, Failure> {
        let Some(value) = value else {
            return Ok(None);
        };
        let (text, written) = match value {
            toml::Value::String(text) => (text.clone(), format!("{text:?}")),
            toml::Value::Integer(n) => (n.to_string(), n.to_string()),
            // `{:?}` keeps the point: -5.0, not -5.
            toml::Value::Float(x) => (format!("{x:?}"), format!("{x:?}")),
            toml::Value::Boolean(b) => (b.to_string(), b.to_string()),
            other => (String::new(), format!("<{}>", other.type_str())),
        };
        parse(&text).map(Some).map_err(|why| {
            format!(
                "{}: profile {profile:?}: {key} = {written}: {why}",
                file.display()
            )
            .into()
        })
    }
}

/// Where a setting's value came from, for `config show` and for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env(&'static str),
    Profile { name: String, file: PathBuf },
    Default,
    Unset,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("flag"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Profile { name, file } => write!(f, "profile {name} ({})", file.display()),
            Source::Default => f.write_str("default"),
            Source::Unset => f.write_str("unset"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// A token: given (flag or environment), or the output of a profile's command.
#[derive(Debug, Clone)]
pub enum TokenSetting {
    Given(Secret),
    Command(String),
}

/// The connection settings of one invocation, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Option<Setting<String>>,
    pub config_file: Option<PathBuf>,
    pub api_url: Setting<String>,
    pub token_url: Setting<String>,
    pub client_id: Setting<Option<String>>,
    pub private_key: Setting<Option<PathBuf>>,
    pub access_token: Setting<Option<TokenSetting>>,
    pub refresh_token: Setting<Option<TokenSetting>>,
    pub request_timeout: Setting<u64>,
    pub max_rps: Setting<Option<f64>>,
}

/// The per-user config file: `$KENSHO_CONFIG`, else `~/.config/kensho-extract/config.toml` (the
/// platform's config directory elsewhere).
pub fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("", "", "kensho-extract")
        .map(|dirs| dirs.config_dir().join("config.toml"))
}

fn read_config(path: &Path) -> Result<Option<ConfigFile>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!("cannot read the config file {}: {e}", path.display()).into());
        }
    };
    toml::from_str(&text).map(Some).map_err(|e| {
        if let Some(refused) = e
            .span()
            .and_then(|span| unreadable_number(path, &text, span.start))
        {
            return refused;
        }
        let message = e.message();
        let hint = if message.contains("access-token") || message.contains("refresh-token") {
            "; a profile holds no token: use access-token-command or refresh-token-command, or the environment"
        } else {
            ""
        };
        format!(
            "the config file {} is not valid: {}{hint}",
            path.display(),
            message.trim_end()
        )
        .into()
    })
}

/// A setting's check of a value as written: why it is refused, if it is.
type Check = fn(&str) -> Result<(), String>;

/// The numbers a profile holds, each with the check of its flag.
fn number_check(key: &str) -> Option<Check> {
    match key {
        "request-timeout" => Some(|text| crate::connection::request_seconds(text).map(drop)),
        "max-rps" => Some(|text| crate::connection::positive_rate(text).map(drop)),
        _ => None,
    }
}

/// A number TOML itself cannot hold (`request-timeout = 18446744073709551616`,
/// `max-rps = 1e999`) fails the parse at `at`: when that is a profile's number, the same line
/// as any other refused value, from the key's own check of the text as written.
fn unreadable_number(path: &Path, text: &str, at: usize) -> Option<Failure> {
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, value) = line.split_once('=')?;
    let (key, value) = (key.trim(), value.split('#').next()?.trim());
    let check = number_check(key)?;
    let profile = text.get(..start)?.lines().rev().find_map(|l| {
        let header = l.trim().strip_prefix("[profiles.")?.strip_suffix(']')?;
        Some(header.trim().trim_matches('"').to_string())
    })?;
    let why = check(value).err()?;
    Some(
        format!(
            "{}: profile {profile:?}: {key} = {value}: {why}",
            path.display()
        )
        .into(),
    )
}

impl Settings {
    /// Resolves the settings from the parsed flags (and `matches`, which knows whether each value
    /// came from the command line or the environment), the config file, and the defaults.
    pub fn resolve(args: &ConnectionArgs, matches: &ArgMatches) -> Result<Settings, Failure> {
        Self::resolve_with(args, matches, config_path())
    }

    fn resolve_with(
        args: &ConnectionArgs,
        matches: &ArgMatches,
        config_file: Option<PathBuf>,
    ) -> Result<Settings, Failure> {
        let source_of = |id: &str, var: &'static str| match matches.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            _ => Source::Env(var),
        };
        let profile_name = args.profile.clone().map(|name| Setting {
            value: name,
            source: source_of("profile", PROFILE_ENV),
        });
        let config = match &config_file {
            Some(path) => read_config(path)?,
            None => None,
        };
        let (profile, from_profile) = match (&profile_name, config) {
            (Some(name), Some(mut config)) => match config.profiles.remove(&name.value) {
                Some(profile) => (
                    profile,
                    Some(Source::Profile {
                        name: name.value.clone(),
                        file: config_file.clone().unwrap_or_default(),
                    }),
                ),
                None => {
                    let known: Vec<_> = config.profiles.keys().cloned().collect();
                    return Err(format!(
                        "no profile {} in {} (it has: {})",
                        name.value,
                        config_file.unwrap_or_default().display(),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    )
                    .into());
                }
            },
            (Some(name), None) => {
                return Err(format!(
                    "profile {} was asked for, but there is no config file at {}",
                    name.value,
                    config_file.map_or_else(
                        || "(no config directory)".into(),
                        |p| p.display().to_string()
                    )
                )
                .into());
            }
            (None, Some(mut config)) => match config.profiles.remove(DEFAULT_PROFILE) {
                Some(profile) => (
                    profile,
                    Some(Source::Profile {
                        name: DEFAULT_PROFILE.into(),
                        file: config_file.clone().unwrap_or_default(),
                    }),
                ),
                None => (Profile::default(), None),
            },
            (None, None) => (Profile::default(), None),
        };
        let profile_source = || from_profile.clone().unwrap_or(Source::Unset);
        // The profile's numbers pass the checks their flags do, whether or not a flag wins.
        let at = match &from_profile {
            Some(Source::Profile { name, file }) => Some((file.as_path(), name.as_str())),
            _ => None,
        };
        let (profile_timeout, profile_rps) = match at {
            Some(at) => (
                Profile::checked(
                    profile.request_timeout.as_ref(),
                    "request-timeout",
                    crate::connection::request_seconds,
                    at,
                )?,
                Profile::checked(
                    profile.max_rps.as_ref(),
                    "max-rps",
                    crate::connection::positive_rate,
                    at,
                )?,
            ),
            None => (None, None),
        };

        // Flag or environment (clap read both), else the profile, else the default.
        fn pick<T>(
            given: Option<T>,
            given_source: Source,
            profile: Option<T>,
            profile_source: Source,
        ) -> Setting<Option<T>> {
            match (given, profile) {
                (Some(value), _) => Setting {
                    value: Some(value),
                    source: given_source,
                },
                (None, Some(value)) => Setting {
                    value: Some(value),
                    source: profile_source,
                },
                (None, None) => Setting {
                    value: None,
                    source: Source::Unset,
                },
            }
        }
        fn or_default<T>(setting: Setting<Option<T>>, default: T) -> Setting<T> {
            match setting.value {
                Some(value) => Setting {
                    value,
                    source: setting.source,
                },
                None => Setting {
                    value: default,
                    source: Source::Default,
                },
            }
        }
        let nonblank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let token =
            |given: &Option<String>, id: &str, var: &'static str, command: &Option<String>| {
                pick(
                    nonblank(given).map(|t| TokenSetting::Given(Secret::new(t))),
                    source_of(id, var),
                    nonblank(command).map(TokenSetting::Command),
                    profile_source(),
                )
            };
        Ok(Settings {
            api_url: or_default(
                pick(
                    nonblank(&args.api_url),
                    source_of("api_url", env::API_URL),
                    profile.api_url.clone(),
                    profile_source(),
                ),
                extract_auth::KENSHO_EXTRACT_API_URL.to_string(),
            ),
            token_url: or_default(
                pick(
                    nonblank(&args.token_url),
                    source_of("token_url", env::TOKEN_URL),
                    profile.token_url.clone(),
                    profile_source(),
                ),
                extract_auth::KENSHO_TOKEN_URL.to_string(),
            ),
            client_id: pick(
                nonblank(&args.client_id),
                source_of("client_id", env::CLIENT_ID),
                profile.client_id.clone(),
                profile_source(),
            ),
            private_key: pick(
                args.private_key
                    .clone()
                    .filter(|p| !p.as_os_str().is_empty()),
                source_of("private_key", env::PRIVATE_KEY),
                profile.private_key.as_deref().map(expand_home),
                profile_source(),
            ),
            access_token: token(
                &args.access_token,
                "access_token",
                env::ACCESS_TOKEN,
                &profile.access_token_command,
            ),
            refresh_token: token(
                &args.refresh_token,
                "refresh_token",
                env::REFRESH_TOKEN,
                &profile.refresh_token_command,
            ),
            request_timeout: or_default(
                pick(
                    args.request_timeout,
                    source_of("request_timeout", REQUEST_TIMEOUT_ENV),
                    profile_timeout,
                    profile_source(),
                ),
                DEFAULT_REQUEST_TIMEOUT,
            ),
            max_rps: pick(
                args.max_rps,
                source_of("max_rps", MAX_RPS_ENV),
                profile_rps,
                profile_source(),
            ),
            profile: profile_name.or_else(|| {
                from_profile.as_ref().map(|source| Setting {
                    value: DEFAULT_PROFILE.into(),
                    source: source.clone(),
                })
            }),
            config_file,
        })
    }

    /// The auth configuration, running a profile's token command if a token comes from one.
    pub fn config(&self) -> Result<AuthConfig, Failure> {
        let mut config = AuthConfig::default()
            .with_api_url(&self.api_url.value)
            .with_token_url(&self.token_url.value);
        config.client_id = self.client_id.value.clone();
        config.private_key = self.private_key.value.clone();
        // A key others can read is said so, once, before it is used.
        if let (Some(_), Some(key)) = (&config.client_id, &config.private_key)
            && self.access_token.value.is_none()
        {
            crate::key_warning::warn_if_open(key);
        }
        // A token command runs only for the method that will be used: an access token first.
        config.access_token = self
            .access_token
            .value
            .as_ref()
            .map(run_token)
            .transpose()?;
        if config.access_token.is_none() && config.private_key.is_none() {
            config.refresh_token = self
                .refresh_token
                .value
                .as_ref()
                .map(run_token)
                .transpose()?;
        }
        Ok(config)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout.value)
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
            .auth_config(&self.config()?)?
            .token_policy(self.token_policy())
            .timeout(limit)
            .response_timeout(limit)
            .stall_timeout(limit)
            // One adaptive rate for every request this process makes.
            .rate_budget(std::sync::Arc::new(extract_api::RateBudget::new(
                self.max_rps.value.unwrap_or(f64::INFINITY),
            )))
            .build()?)
    }

    /// The cached token source of the configured method.
    pub fn token_source(&self) -> Result<CachedTokenSource<Box<dyn TokenSource>>, Failure> {
        let client = http::client_builder().build()?;
        Ok(CachedTokenSource::with_policy(
            self.config()?.token_source(client)?,
            self.token_policy(),
        ))
    }
}

/// The environment variable for `--max-rps`.
pub const MAX_RPS_ENV: &str = "KENSHO_MAX_RPS";

/// The environment variable for `--request-timeout`.
pub const REQUEST_TIMEOUT_ENV: &str = "KENSHO_REQUEST_TIMEOUT";

/// `~/keys/private.pem` → the home directory's `keys/private.pem` (profiles are written by hand).
fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => path.to_path_buf(),
    }
}

/// A token's value: given, or the first line a profile's command prints.
fn run_token(token: &TokenSetting) -> Result<Secret, Failure> {
    let command = match token {
        TokenSetting::Given(secret) => return Ok(secret.clone()),
        TokenSetting::Command(command) => command,
    };
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the profile's token command `{command}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the profile's token command `{command}` failed ({}); run it by hand to see why",
            output.status
        )
        .into());
    }
    let token = String::from_utf8(output.stdout)
        .ok()
        .and_then(|out| out.lines().next().map(|l| l.trim().to_string()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("the profile's token command `{command}` printed no token"))?;
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        auth: ConnectionArgs,
    }

    fn resolve(argv: &[&str], config: &str) -> Result<Settings, Failure> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).expect("writes");
        let matches = Cli::command()
            .try_get_matches_from(std::iter::once("kensho-extract").chain(argv.iter().copied()))
            .expect("parses");
        let cli = Cli::from_arg_matches(&matches).expect("args");
        Settings::resolve_with(&cli.auth, &matches, Some(path))
    }

    const CONFIG: &str = r#"
[profiles.default]
api-url = "http://127.0.0.1:1/default"

[profiles.staging]
api-url = "http://127.0.0.1:1/staging"
client-id = "0oa-staging"
private-key = "/keys/staging.pem"
request-timeout = 5
"#;

    #[test]
    fn a_flag_beats_the_profile_which_beats_the_default() {
        let settings =
            resolve(&["--profile", "staging", "--client-id", "mine"], CONFIG).expect("resolves");
        assert_eq!(settings.client_id.value.as_deref(), Some("mine"));
        assert_eq!(settings.client_id.source, Source::Flag);
        assert_eq!(settings.api_url.value, "http://127.0.0.1:1/staging");
        assert!(
            matches!(settings.api_url.source, Source::Profile { ref name, .. } if name == "staging")
        );
        assert_eq!(settings.request_timeout.value, 5);
        assert_eq!(settings.token_url.source, Source::Default);
        assert_eq!(settings.token_url.value, extract_auth::KENSHO_TOKEN_URL);
        assert_eq!(settings.access_token.source, Source::Unset);
    }

    #[test]
    fn without_a_name_the_default_profile_applies() {
        let settings = resolve(&[], CONFIG).expect("resolves");
        assert_eq!(settings.api_url.value, "http://127.0.0.1:1/default");
        assert_eq!(settings.client_id.source, Source::Unset);
        assert_eq!(settings.profile.expect("profile").value, "default");
    }

    #[test]
    fn an_unknown_profile_names_the_known_ones() {
        let error = resolve(&["--profile", "prod"], CONFIG).expect_err("no such profile");
        let error = error.to_string();
        assert!(error.contains("no profile prod"), "{error}");
        assert!(error.contains("default, staging"), "{error}");
    }

    #[test]
    fn a_token_in_a_profile_is_refused_with_what_to_use() {
        let error = resolve(
            &[],
            "[profiles.default]\naccess-token = \"eyJhbGciOi.secret.value\"\n",
        )
        .expect_err("refused");
        let error = error.to_string();
        assert!(error.contains("access-token-command"), "{error}");
        assert!(
            !error.contains("secret.value"),
            "the value is not echoed: {error}"
        );
    }

    /// Every number a profile can hold, with values its flag refuses: each is refused in one
    /// line naming the file, the profile and the key, whether or not a flag overrides it.
    #[test]
    fn a_profile_value_its_flag_would_refuse_is_refused() {
        let cases = [
            (
                "max-rps = -5.0",
                "max-rps = -5.0: must be a positive number",
            ),
            ("max-rps = 0", "max-rps = 0: must be a positive number"),
            ("max-rps = nan", "max-rps = NaN: must be a positive number"),
            ("max-rps = inf", "max-rps = inf: must be a positive number"),
            (
                "max-rps = 1e999",
                "max-rps = 1e999: must be a positive number",
            ),
            (
                "max-rps = \"fast\"",
                "max-rps = \"fast\": must be a positive number",
            ),
            (
                "max-rps = [1]",
                "max-rps = <array>: must be a positive number",
            ),
            (
                "request-timeout = 0",
                "request-timeout = 0: must be a whole number",
            ),
            (
                "request-timeout = -5",
                "request-timeout = -5: must be a whole number",
            ),
            (
                "request-timeout = 2.5",
                "request-timeout = 2.5: must be a whole number",
            ),
            (
                "request-timeout = 3601",
                "request-timeout = 3601: must be a whole number",
            ),
            (
                "request-timeout = 9223372036854775807",
                "request-timeout = 9223372036854775807: must be a whole number",
            ),
            (
                "request-timeout = 18446744073709551616",
                "request-timeout = 18446744073709551616: must be a whole number",
            ),
            (
                "request-timeout = true",
                "request-timeout = true: must be a whole number",
            ),
        ];
        for (line, expected) in cases {
            let config = format!("[profiles.prod]\n{line}\n");
            for argv in [
                &["--profile", "prod"][..],
                &[
                    "--profile",
                    "prod",
                    "--max-rps",
                    "3",
                    "--request-timeout",
                    "9",
                ][..],
            ] {
                let error = resolve(argv, &config).expect_err(line).to_string();
                assert!(
                    error.contains("config.toml: profile \"prod\": "),
                    "{line}: {error}"
                );
                assert!(error.contains(expected), "{line}: {error}");
                assert_eq!(error.lines().count(), 1, "{line}: {error}");
            }
        }
        // The default profile, chosen without a name, is checked too.
        let error = resolve(&[], "[profiles.default]\nmax-rps = -5.0\n")
            .expect_err("refused")
            .to_string();
        assert!(
            error.contains("profile \"default\": max-rps = -5.0"),
            "{error}"
        );
        // Values the flags take are taken.
        let settings = resolve(
            &["--profile", "prod"],
            "[profiles.prod]\nmax-rps = 2.5\nrequest-timeout = 3600\n",
        )
        .expect("resolves");
        assert_eq!(settings.max_rps.value, Some(2.5));
        assert_eq!(settings.request_timeout.value, 3600);
        let integer_rate =
            resolve(&["--profile", "prod"], "[profiles.prod]\nmax-rps = 4\n").expect("resolves");
        assert_eq!(integer_rate.max_rps.value, Some(4.0));
    }

    #[test]
    fn a_token_command_runs_only_when_needed() {
        let settings = resolve(
            &[],
            "[profiles.default]\naccess-token-command = \"printf 'tok-from-command\\\\n'\"\n",
        )
        .expect("resolves");
        assert!(matches!(
            settings.access_token.value,
            Some(TokenSetting::Command(_))
        ));
        let config = settings.config().expect("config");
        assert_eq!(
            config.access_token.expect("token").expose(),
            "tok-from-command"
        );
        let failing = resolve(
            &[],
            "[profiles.default]\naccess-token-command = \"exit 3\"\n",
        )
        .expect("resolves");
        let error = failing.config().expect_err("fails").to_string();
        assert!(error.contains("failed"), "{error}");
    }
}
