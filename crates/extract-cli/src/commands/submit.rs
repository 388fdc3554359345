//! `kensho-extract submit`: send one PDF; print its request id.

use std::path::PathBuf;

use clap::Args;

use crate::Failure;
use crate::extraction::ExtractionArgs;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The PDF to extract.
    file: PathBuf,
    #[command(flatten)]
    extraction: ExtractionArgs,
    /// Upload through a pre-signed URL even when the file is small enough to send directly.
    #[arg(long)]
    presigned: bool,
    /// Send without checking the file locally first (page count, --pages, encryption).
    #[arg(long)]
    no_preflight: bool,
}

pub fn run(args: SubmitArgs, settings: &Settings) -> Result<(), Failure> {
    crate::block_on(async move {
        let options = args.extraction.options();
        // The file is checked before a token is fetched or anything is sent.
        if args.no_preflight {
            extract_api::check_document(&args.file).await?;
        } else {
            let pages = crate::preflight::selection(args.extraction.pages())?;
            extract_api::preflight(&args.file, pages.as_ref()).await?;
        }
        let client = settings.client()?;
        let request_id = if args.presigned {
            let created = client.create_upload_url(&options).await?;
            client.upload(&created.upload_spec, &args.file).await?;
            client.complete_upload(&created.request_id).await?;
            created.request_id
        } else {
            client.submit_file(&args.file, &options).await?.request_id
        };
        println!("{request_id}");
        Ok(())
    })
}
