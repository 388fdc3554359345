//! Converters for Kensho Extract output documents: the conversions of Kensho's
//! `kensho-kenverters` (3.2.0), with the same results, in Rust, without any network stack.
//!
//! ```
//! use extract_model::OutputDocument;
//! let json = br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
//!     {"uid": "1", "type": "TITLE", "content": "Results", "children": []},
//!     {"uid": "2", "type": "TEXT", "content": "Revenue grew.", "children": []}]}, "annotations": []}"#;
//! let document = OutputDocument::from_json(json)?;
//! assert_eq!(extract_convert::to_markdown(&document), "# Results\nRevenue grew.");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Every conversion takes hostile documents in its stride: impossible cell indices, spans,
//! boxes and page numbers are left out (never a panic, and never memory far beyond the
//! document's size); [`check`] lists what was left out. The limits are in `docs/limits.md`.
//!
//! Differences from kenverters, each chosen on purpose, are listed in `docs/converters.md`.
#![warn(missing_docs)]

mod anchored;
mod blocks;
mod chunks;
mod guard;
mod html;
mod items;
mod marked;
mod sections;
mod tables;
mod text;
mod tokens;
mod visual;

pub use anchored::{MapEntry, MarkdownOptions, SourceMap, to_markdown_with_map};
pub use chunks::{Chunk, ChunkError, ChunkOptions, MIN_CHUNK_TOKENS, Source, chunks};
pub use guard::{MAX_PAGE_NUMBER, MAX_TABLE_SIDE, Warning, check};
pub use html::{HtmlOptions, escape as escape_html, tables_html, to_html};
pub use items::{Item, Relation, items, relations};
pub use marked::{Region, regions};
pub use sections::sections;
pub use tables::{TableGrid, grid_to_csv, grid_to_markdown, table_grids, tables};
pub use text::{to_markdown, to_markdown_by_page, to_text, to_text_by_page};
#[cfg(feature = "hf-tokenizers")]
pub use tokens::HuggingFace;
#[cfg(feature = "tiktoken")]
pub use tokens::Tiktoken;
pub use tokens::{Estimate, Tokenizer, TokenizerError, tokenizer_named};
pub use visual::{MAX_VISUAL_SIDE, VisualOptions, to_visual};
