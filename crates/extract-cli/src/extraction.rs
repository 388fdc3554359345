//! What to ask of an extraction: the flags `submit` and `run` share.

use clap::Args;
use extract_api::{DocumentType, ExtractionOptions, OutputFormat};

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
