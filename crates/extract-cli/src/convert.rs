//! `kensho-extract convert`: an output document to Markdown, text, pages, CSV tables, items or
//! sections; and the renderings `run --format` writes.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use extract_api::OutputDocument;

use crate::Failure;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// Markdown: headings as `#`, tables as `|` rows.
    Markdown,
    /// The whole text.
    Text,
    /// A JSON array with the text of each page.
    Pages,
    /// One RFC 4180 file per table, `PATH/<table uid>.csv` (merged cells copied into each cell;
    /// the uid made a safe file name, numbered when two tables share one).
    TablesCsv,
    /// The items list as JSON (text, titles and tables with their grids and locations).
    Items,
    /// The items grouped into sections under their titles, as JSON.
    Sections,
    /// Each page as plain text laid out like the page, pages ending in a line of `=`.
    Visual,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// An output document: bare (`{content_tree, annotations}`) or a status answer (`{status, output}`).
    input: PathBuf,
    /// What to convert to.
    #[arg(long, value_enum)]
    to: Target,
    /// Where to write (a directory for tables-csv); stdout when absent.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
}

pub fn run(args: ConvertArgs) -> Result<(), Failure> {
    let bytes = std::fs::read(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let document = OutputDocument::from_json(&bytes).map_err(|e| {
        format!(
            "{}: not an Extract output document ({e})",
            args.input.display()
        )
    })?;
    // What the document asks that cannot be done is left out, and said.
    for warning in extract_convert::check(&document) {
        eprintln!("warning: {}: {warning}", args.input.display());
    }
    match args.to {
        Target::TablesCsv => {
            let dir = args.output.ok_or(
                "--to tables-csv writes one file per table: give the directory with -o DIR",
            )?;
            write_tables_csv(&document, &dir)
        }
        target => crate::output::write(args.output.as_deref(), &render(&document, target)?),
    }
}

fn render(document: &OutputDocument, target: Target) -> Result<Vec<u8>, Failure> {
    Ok(match target {
        Target::Markdown => extract_convert::to_markdown(document).into_bytes(),
        Target::Text => extract_convert::to_text(document).into_bytes(),
        Target::Pages => serde_json::to_vec_pretty(&extract_convert::to_text_by_page(document))?,
        Target::Items => serde_json::to_vec_pretty(&extract_convert::items(document, true))?,
        Target::Sections => serde_json::to_vec_pretty(&extract_convert::sections(document))?,
        Target::Visual => {
            extract_convert::to_visual(document, extract_convert::VisualOptions::default())
                .join("\n")
                .into_bytes()
        }
        Target::TablesCsv => return Err("tables-csv writes a directory".into()),
    })
}

/// One CSV file per table, named after its uid made safe: a uid is the document's word, and
/// must not be able to name a file outside `dir` or to replace another table's file.
fn write_tables_csv(document: &OutputDocument, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tables = extract_convert::tables(document, true);
    let mut names = extract_poll::names::UniqueNames::default();
    for (uid, table) in &tables {
        let name = names.next(uid, "table", "csv");
        crate::output::write(
            Some(&dir.join(name)),
            extract_convert::grid_to_csv(&table.grid).as_bytes(),
        )?;
    }
    eprintln!("wrote {} table(s) to {}", tables.len(), dir.display());
    Ok(())
}

/// The extra files `run --format` writes beside each `<name>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    /// The output document only.
    Json,
    /// Also `<name>.md`.
    Markdown,
    /// Also `<name>.txt`.
    Text,
}

/// The extension and converter `run --format` adds, if any.
pub fn renderer(format: RunFormat) -> Option<(&'static str, std::sync::Arc<extract_poll::Render>)> {
    match format {
        RunFormat::Json => None,
        RunFormat::Markdown => Some((
            "md",
            std::sync::Arc::new(|d: &OutputDocument| {
                Ok(extract_convert::to_markdown(d).into_bytes())
            }),
        )),
        RunFormat::Text => Some((
            "txt",
            std::sync::Arc::new(|d: &OutputDocument| Ok(extract_convert::to_text(d).into_bytes())),
        )),
    }
}
