//! `kensho-extract submit`, `status` and `fetch`: one request at a time.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use extract_api::{ApiError, Client, DocumentType, ExtractionOptions, OutputFormat, Status};

use crate::Failure;
use crate::settings::Settings;

/// A clap parser for one of the contract's closed enums: its values listed in `--help`.
macro_rules! known_values {
    ($enum:ty) => {
        clap::builder::TypedValueParser::try_map(
            clap::builder::PossibleValuesParser::new(<$enum>::KNOWN),
            |value| value.parse::<$enum>(),
        )
    };
}

/// What to ask of an extraction (shared by `submit` and `run`).
#[derive(Debug, Clone, Args)]
pub struct ExtractionArgs {
    /// How the document is analysed.
    #[arg(long, default_value = "hierarchical_v2", value_parser = known_values!(DocumentType))]
    document_type: DocumentType,
    /// The document is scanned: run OCR.
    #[arg(long)]
    ocr: bool,
    /// Enhanced table extraction.
    #[arg(long)]
    enhanced_tables: bool,
    /// Extract figures.
    #[arg(long)]
    figures: bool,
    /// Include images.
    #[arg(long)]
    images: bool,
    /// Include relations between items.
    #[arg(long)]
    relations: bool,
    /// Pages to extract, 1-based, such as `1-5,7`.
    #[arg(long, value_name = "SPEC")]
    pages: Option<String>,
    /// Your own id for the document.
    #[arg(long, value_name = "ID")]
    document_id: Option<String>,
    /// `low` for low priority.
    #[arg(long)]
    priority: Option<String>,
    /// Output format; setting it selects the pre-signed retrieval mode.
    #[arg(long, value_parser = known_values!(OutputFormat))]
    output_format: Option<OutputFormat>,
}

impl ExtractionArgs {
    /// The `--pages` selection as given.
    pub fn pages(&self) -> Option<&str> {
        self.pages.as_deref()
    }

    pub fn options(&self) -> ExtractionOptions {
        let mut options = ExtractionOptions::new()
            .document_type(self.document_type)
            .ocr(self.ocr)
            .enhanced_table_extraction(self.enhanced_tables);
        // Flags that are off are left out of the request: the service's defaults apply.
        if self.figures {
            options = options.figure_extraction(true);
        }
        if self.images {
            options = options.include_images(true);
        }
        if self.relations {
            options = options.include_relations(true);
        }
        if let Some(id) = &self.document_id {
            options = options.document_id(id);
        }
        if let Some(priority) = &self.priority {
            options = options.priority(priority);
        }
        if let Some(pages) = &self.pages {
            options = options.pages(pages);
        }
        if let Some(format) = self.output_format {
            options = options.output_format(format);
        }
        options
    }
}

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

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The request id `submit` printed.
    id: String,
    /// Print the service's status JSON (with the output document once it succeeded, or the
    /// output URL for a pre-signed request) instead of a summary.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The request id `submit` printed.
    id: String,
    /// Write the output document here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn submit(args: SubmitArgs, settings: &Settings) -> Result<(), Failure> {
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

/// Whether an error is the service saying the request belongs to the other retrieval mode.
fn wrong_mode(error: &ApiError) -> bool {
    error.status() == Some(400)
}

pub fn status(args: StatusArgs, settings: &Settings) -> Result<(), Failure> {
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

pub fn fetch(args: FetchArgs, settings: &Settings) -> Result<(), Failure> {
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
