//! A review page for Kensho Extract output: see what Extract found, on the page, in a browser.
//!
//! [`write_review`] writes one self-contained HTML file (no network, no external script): per
//! page an SVG with every located item's box, coloured by type and numbered in reading order,
//! table cells drawn as a grid with header cells marked, a side panel listing the items, and a
//! page selector. With the PDF (feature `pdf`, on by default), each page is rendered under its
//! boxes by `hayro`, a pure-Rust rasteriser; without it, a blank sheet of the page's size shows
//! each item's text in its box.
//!
//! [`diff`] compares two outputs of the same document; its highlights go on a review page.
//!
//! Boxes become pixels through one transform ([`PageFrame`]), shared by the boxes and the page
//! image. Colours and coordinates: `docs/review.md`.
//!
//! ```
//! use extract_model::OutputDocument;
//! use extract_review::{ReviewOptions, write_review};
//! let document = OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT",
//!   "content": null, "children": [{"uid": "1", "type": "H1", "content": "Results", "children": [],
//!   "locations": [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.05, "page_number": 0}]}]},
//!   "annotations": []}"#)?;
//! let mut html = Vec::new();
//! write_review(&document, None, &ReviewOptions::default(), &mut html)?;
//! let html = String::from_utf8(html)?;
//! assert!(html.contains(r#"<rect class="box c-heading" data-n="1" x="91.8" y="118.8" width="459.0" height="59.4">"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod diff;
mod frame;
mod limits;
mod located;
#[cfg(feature = "pdf")]
mod measure;
mod page;
#[cfg(feature = "pdf")]
mod raster;

pub use diff::{CellChange, Change, DocumentDiff, diff};
pub use frame::{LETTER, PageFrame, PixelRect};
pub use limits::RenderLimits;
pub use located::{Located, colour_class, located};
pub use page::{ReviewError, ReviewOptions, write_review};
#[cfg(feature = "pdf")]
pub use raster::{RenderedPage, page_sizes, render_pages, render_pages_with};
