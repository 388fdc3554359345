//! `kensho-extract config show|path`: the settings in force and where each one came from.

use std::io::Write;

use clap::Subcommand;

use crate::Failure;
use crate::settings::{self, Setting, Settings, Source, TokenSetting};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every connection setting, its value and where it came from (flag, env, profile,
    /// default); tokens are never printed, only whether and how they are set, and credentials
    /// in URLs show as `***`.
    Show {
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the config file's path (`$KENSHO_CONFIG`, else the per-user config directory).
    Path,
}

pub fn run(command: ConfigCommand, settings: Result<Settings, Failure>) -> Result<(), Failure> {
    match command {
        ConfigCommand::Path => {
            let path = settings::config_path()
                .ok_or("no config directory is known for this user: set KENSHO_CONFIG")?;
            writeln!(std::io::stdout(), "{}", path.display())?;
            Ok(())
        }
        ConfigCommand::Show { json } => show(&settings?, json),
    }
}

/// The rows of `config show`: name, shown value, source.
fn rows(settings: &Settings) -> Vec<(&'static str, Option<String>, &Source)> {
    fn plain<T: ToString>(setting: &Setting<T>) -> (Option<String>, &Source) {
        (Some(setting.value.to_string()), &setting.source)
    }
    fn optional<T>(
        setting: &Setting<Option<T>>,
        show: impl Fn(&T) -> String,
    ) -> (Option<String>, &Source) {
        (setting.value.as_ref().map(show), &setting.source)
    }
    let token = |t: &TokenSetting| match t {
        TokenSetting::Given(_) => "(set, hidden)".to_string(),
        TokenSetting::Command(command) => format!("(from the command `{command}`)"),
    };
    let mut rows = Vec::new();
    let mut push = |name, (value, source)| rows.push((name, value, source));
    // A URL may carry a password or a secret parameter: those show as `***`.
    fn url(setting: &Setting<String>) -> (Option<String>, &Source) {
        (
            Some(extract_batch::names::printable(&extract_batch::redact_url(
                &setting.value,
            ))),
            &setting.source,
        )
    }
    push("api-url", url(&settings.api_url));
    push("token-url", url(&settings.token_url));
    push("client-id", optional(&settings.client_id, String::clone));
    push(
        "private-key",
        optional(&settings.private_key, |p| p.display().to_string()),
    );
    push("access-token", optional(&settings.access_token, token));
    push("refresh-token", optional(&settings.refresh_token, token));
    push("request-timeout", plain(&settings.request_timeout));
    push("max-rps", optional(&settings.max_rps, f64::to_string));
    rows
}

fn show(settings: &Settings, json: bool) -> Result<(), Failure> {
    let config_file = settings
        .config_file
        .as_ref()
        .map(|p| p.display().to_string());
    let profile = settings.profile.as_ref();
    let mut out = std::io::stdout().lock();
    if json {
        let mut values = serde_json::Map::new();
        for (name, value, source) in rows(settings) {
            values.insert(
                name.into(),
                serde_json::json!({ "value": value, "source": source.to_string() }),
            );
        }
        let document = serde_json::json!({
            "config_file": config_file,
            "config_file_exists": settings.config_file.as_ref().is_some_and(|p| p.exists()),
            "profile": profile.map(|p| serde_json::json!({"name": p.value, "source": p.source.to_string()})),
            "settings": values,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    let exists = settings.config_file.as_ref().is_some_and(|p| p.exists());
    writeln!(
        out,
        "config file:     {}{}",
        config_file.as_deref().unwrap_or("(none)"),
        if exists { "" } else { " (not present)" }
    )?;
    match profile {
        Some(p) => writeln!(out, "profile:         {} ({})", p.value, p.source)?,
        None => writeln!(out, "profile:         (none)")?,
    }
    for (name, value, source) in rows(settings) {
        let value = value.unwrap_or_else(|| "-".into());
        writeln!(out, "{:<16} {value}  [{source}]", format!("{name}:"))?;
    }
    Ok(())
}
