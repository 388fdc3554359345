//! `kensho-extract convert`: an output document to Markdown, text, pages, CSV tables, items or
//! sections; and the renderings `run --format` writes.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use extract_api::OutputDocument;

use crate::Failure;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// Markdown: headings as `#`, tables as `|` rows (`--page-anchors`, `--source-map`).
    Markdown,
    /// A self-contained HTML page; tables keep merged cells (`rowspan`/`colspan`), header rows
    /// (`<thead>`) and captions.
    Html,
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
    /// Chunks for retrieval as JSON Lines: text under a token budget, headings, pages, and the
    /// node, page and box of every fragment (`--max-tokens`, `--overlap`, `--tokenizer`).
    Chunks,
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
    /// Markdown: a line `<!-- page N -->` where each page starts.
    #[arg(long)]
    page_anchors: bool,
    /// Markdown: also write, as JSON, the bytes of Markdown every node produced, with its uid,
    /// page and box.
    #[arg(long, value_name = "FILE")]
    source_map: Option<PathBuf>,
    #[command(flatten)]
    chunking: ChunkArgs,
}

/// How `--to chunks` cuts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Chunks")]
pub struct ChunkArgs {
    /// The token budget no chunk exceeds (overlap included).
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_tokens: usize,
    /// Tokens repeated from the end of the previous chunk of the same section.
    #[arg(long, value_name = "N", default_value_t = 0)]
    overlap: usize,
    /// How tokens are counted: `estimate` (no vocabulary), `cl100k_base` or `o200k_base`
    /// (built with the `tiktoken` feature), or a Hugging Face `tokenizer.json` file (built with
    /// the `hf-tokenizers` feature).
    #[arg(long, value_name = "NAME|FILE", default_value = "estimate")]
    tokenizer: String,
    /// Keep page headers and footers in chunks.
    #[arg(long)]
    furniture: bool,
    /// Chunks and HTML: join a table continued on the next page (same columns, repeated
    /// header rows) to the table it continues.
    #[arg(long)]
    stitch_tables: bool,
}

impl ChunkArgs {
    fn tokenizer(&self) -> Result<Box<dyn extract_convert::Tokenizer>, Failure> {
        Ok(extract_convert::tokenizer_named(&self.tokenizer)?)
    }

    fn options(&self) -> extract_convert::ChunkOptions {
        extract_convert::ChunkOptions::default()
            .with_max_tokens(self.max_tokens)
            .with_overlap(self.overlap)
            .with_furniture(self.furniture)
            .with_stitch_tables(self.stitch_tables)
    }
}

pub fn run(args: ConvertArgs) -> Result<(), Failure> {
    if (args.page_anchors || args.source_map.is_some()) && !matches!(args.to, Target::Markdown) {
        return Err("--page-anchors and --source-map go with --to markdown".into());
    }
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
        Target::Markdown if args.page_anchors || args.source_map.is_some() => {
            let options =
                extract_convert::MarkdownOptions::default().with_page_anchors(args.page_anchors);
            let (markdown, map) = extract_convert::to_markdown_with_map(&document, &options);
            if let Some(path) = &args.source_map {
                crate::output::write(Some(path), &serde_json::to_vec(&map)?)?;
            }
            crate::output::write(args.output.as_deref(), markdown.as_bytes())
        }
        Target::Chunks => {
            let tokenizer = args.chunking.tokenizer()?;
            let chunks =
                extract_convert::chunks(&document, &args.chunking.options(), tokenizer.as_ref())
                    .map_err(|e| chunk_error(&args.input, &e))?;
            let mut lines = Vec::new();
            for chunk in &chunks {
                serde_json::to_writer(&mut lines, chunk)?;
                lines.push(b'\n');
            }
            crate::output::write(args.output.as_deref(), &lines)
        }
        Target::Html => {
            let options = extract_convert::HtmlOptions::default()
                .with_stitch_tables(args.chunking.stitch_tables);
            let html = extract_convert::to_html(&document, &options);
            crate::output::write(args.output.as_deref(), html.as_bytes())
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
        Target::TablesCsv | Target::Chunks | Target::Html => {
            return Err("tables-csv, chunks and html are written by their own paths".into());
        }
    })
}

/// One CSV file per table, named after its uid made safe: a uid is the document's word, and
/// must not be able to name a file outside `dir` or to replace another table's file.
fn write_tables_csv(document: &OutputDocument, dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tables = extract_convert::tables(document, true);
    let mut names = extract_batch::names::UniqueNames::default();
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
pub fn renderer(
    format: RunFormat,
) -> Option<(&'static str, std::sync::Arc<extract_batch::Render>)> {
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

/// A chunking error in the words of the command line: its options by their flags.
fn chunk_error(input: &Path, error: &extract_convert::ChunkError) -> String {
    use extract_convert::ChunkError;
    match error {
        ChunkError::MaxTokens { min, .. } => format!("--max-tokens must be at least {min}"),
        ChunkError::Overlap { .. } => "--overlap must be at most half of --max-tokens".into(),
        ChunkError::TooSmall { uid, .. } => format!(
            "{}: a single character of node {uid} takes more tokens than the budget leaves: raise --max-tokens or lower --overlap",
            input.display()
        ),
        other => format!("{}: {other}", input.display()),
    }
}
