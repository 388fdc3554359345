//! `kensho-extract review`: an output's boxes drawn on its pages; also what `run --review` writes,
//! and the reading and page-writing that `diff` shares.

use std::path::{Path, PathBuf};

use clap::Args;
use extract_api::OutputDocument;
use extract_review::{ReviewOptions, write_review};

use crate::Failure;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// An output document (bare or a status answer).
    input: PathBuf,
    /// The PDF the output came from: each page is rendered under its boxes.
    #[arg(long, value_name = "FILE")]
    pdf: Option<PathBuf>,
    /// Where to write the page (`-` for stdout); by default `<input>.review.html` beside it.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Pixels per PDF point.
    #[arg(long, default_value_t = 1.5, value_parser = scale)]
    scale: f64,
}

fn scale(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(s) if (0.25..=8.0).contains(&s) => Ok(s),
        _ => Err("a number from 0.25 to 8".into()),
    }
}

pub(crate) fn read_output(path: &Path) -> Result<OutputDocument, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    OutputDocument::from_json(&bytes)
        .map_err(|e| format!("{}: not an Extract output document ({e})", path.display()).into())
}

pub(crate) fn read_pdf(path: Option<&Path>) -> Result<Option<Vec<u8>>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !bytes.starts_with(b"%PDF-") {
        return Err(format!(
            "{}: not a PDF (it does not start with %PDF-)",
            path.display()
        )
        .into());
    }
    Ok(Some(bytes))
}

/// The review page's default name: `report.json` → `report.review.html`.
fn beside(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    input.with_file_name(format!("{stem}.review.html"))
}

pub(crate) fn title(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn write_page(
    document: &OutputDocument,
    pdf: Option<&[u8]>,
    options: &ReviewOptions,
    target: &Path,
) -> Result<(), Failure> {
    crate::output::write_with(Some(target), &mut |out| {
        write_review(document, pdf, options, out).map_err(|e| crate::exit::describe(&e).into())
    })?;
    if target != Path::new("-") {
        eprintln!("wrote {}", target.display());
    }
    Ok(())
}

pub fn run(args: ReviewArgs) -> Result<(), Failure> {
    let document = read_output(&args.input)?;
    let pdf = read_pdf(args.pdf.as_deref())?;
    let target = args.output.clone().unwrap_or_else(|| beside(&args.input));
    let options = ReviewOptions::default()
        .with_title(title(&args.input))
        .with_scale(args.scale);
    write_page(&document, pdf.as_deref(), &options, &target)
}

/// What `run --review` writes beside each output: its review page over the input PDF.
pub fn renderer() -> std::sync::Arc<extract_batch::RenderFrom> {
    std::sync::Arc::new(|document: &OutputDocument, input: &Path| {
        let pdf = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let options = ReviewOptions::default().with_title(title(input));
        let mut html = Vec::new();
        // A PDF the rasteriser cannot read still gets its boxes on blank sheets.
        match write_review(document, Some(&pdf), &options, &mut html) {
            Ok(()) => Ok(html),
            Err(extract_review::ReviewError::Pdf(_) | extract_review::ReviewError::NoRenderer) => {
                html.clear();
                write_review(document, None, &options, &mut html)
                    .map_err(|e| crate::exit::describe(&e))?;
                Ok(html)
            }
            Err(e) => Err(crate::exit::describe(&e)),
        }
    })
}
