//! `kensho-extract status ID`: where a request stands, as a summary or the service's JSON.

use std::io::Write;

use clap::Args;

use crate::Failure;
use crate::mode::wrong_mode;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The request id `submit` printed.
    id: String,
    /// Print the service's status JSON (with the output document once it succeeded, or the
    /// output URL for a pre-signed request) instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StatusArgs, settings: &Settings) -> Result<(), Failure> {
    crate::block_on(async move {
        let client = settings.client()?;
        let (json, status, error, mode) = match client.status(&args.id, None).await {
            Ok(status) => (
                args.json
                    .then(|| serde_json::to_string_pretty(&status))
                    .transpose()?,
                status.status,
                status.error,
                "inline",
            ),
            Err(e) if wrong_mode(&e) => {
                let status = client.download_url(&args.id).await?;
                (
                    args.json
                        .then(|| serde_json::to_string_pretty(&status))
                        .transpose()?,
                    status.status,
                    status.error,
                    "pre-signed",
                )
            }
            Err(e) => return Err(e.into()),
        };
        let mut out = std::io::stdout().lock();
        match json {
            Some(json) => writeln!(out, "{json}")?,
            None => {
                writeln!(out, "request: {}", args.id)?;
                writeln!(out, "status:  {status}")?;
                writeln!(out, "mode:    {mode}")?;
                if let Some(error) = error {
                    writeln!(out, "error:   {error}")?;
                }
            }
        }
        Ok(())
    })
}
