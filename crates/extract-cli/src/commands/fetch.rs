//! `kensho-extract fetch ID`: the output document of a finished request, whichever retrieval mode
//! created it.

use std::path::PathBuf;

use clap::Args;
use extract_api::{Client, Status};

use crate::Failure;
use crate::mode::wrong_mode;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The request id `submit` printed.
    id: String,
    /// Write the output document here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: FetchArgs, settings: &Settings) -> Result<(), Failure> {
    crate::block_on(async move {
        let client = settings.client()?;
        let bytes = fetch_output(&client, &args.id).await?;
        crate::output::write(args.output.as_deref(), &bytes)
    })
}

/// The output document of a finished request, whichever retrieval mode it was created with.
async fn fetch_output(client: &Client, id: &str) -> Result<Vec<u8>, Failure> {
    let (status, error, output) = match client.status(id, None).await {
        Ok(status) => (
            status.status,
            status.error,
            status
                .output
                .map(|o| serde_json::to_vec_pretty(&o))
                .transpose()?,
        ),
        Err(e) if wrong_mode(&e) => {
            let status = client.download_url(id).await?;
            let output = match (&status.status, &status.output_url) {
                (Status::Success, Some(url)) => Some(client.download_bytes(url).await?.to_vec()),
                _ => None,
            };
            (status.status, status.error, output)
        }
        Err(e) => return Err(e.into()),
    };
    match (status, output) {
        (Status::Success, Some(output)) => Ok(output),
        (Status::Failed, _) => Err(format!(
            "request {id} failed on the service side: {}",
            error.unwrap_or_else(|| "no reason given".into())
        )
        .into()),
        (Status::Success, None) => {
            Err(format!("request {id} succeeded but the service sent no output").into())
        }
        (other, _) => Err(format!(
            "request {id} is not finished (status {other}); fetch it again later"
        )
        .into()),
    }
}
