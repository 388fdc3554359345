//! `kensho-extract diff`: what changed between two outputs of the same document, as text, JSON
//! or a review page with the changes highlighted.

use std::path::PathBuf;

use clap::Args;
use extract_review::ReviewOptions;

use super::review::{read_output, read_pdf, title, write_page};
use crate::Failure;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first output document.
    a: PathBuf,
    /// The second output document of the same PDF.
    b: PathBuf,
    /// Print the differences as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the second output's review page with the changed boxes highlighted.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The PDF, to draw the review page over its pages.
    #[arg(long, value_name = "FILE")]
    pdf: Option<PathBuf>,
    /// How far a box may move (fraction of the page) before it counts as moved.
    #[arg(long, default_value_t = 0.01)]
    tolerance: f64,
}

pub fn run(args: DiffArgs) -> Result<(), Failure> {
    let (a, b) = (read_output(&args.a)?, read_output(&args.b)?);
    let pdf = read_pdf(args.pdf.as_deref())?;
    let diff = extract_review::diff(&a, &b, args.tolerance);
    if args.json {
        crate::output::write(None, &serde_json::to_vec_pretty(&diff)?)?;
    } else {
        crate::output::write(None, diff.to_string().as_bytes())?;
    }
    if let Some(target) = &args.output {
        let mut options =
            ReviewOptions::default().with_title(format!("{} → {}", title(&args.a), title(&args.b)));
        options.highlights = diff.highlights();
        options.notes = diff.removed_lines();
        write_page(&b, pdf.as_deref(), &options, target)?;
    }
    Ok(())
}
