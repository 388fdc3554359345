//! The Kensho Extract v3 types and output document model, without any network stack.
//!
//! ```
//! use extract_model::{NodeType, OutputDocument};
//! let json = br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
//!     {"uid": "1", "type": "H1", "content": "Results", "children": []}]}, "annotations": []}"#;
//! let document = OutputDocument::from_json(json)?;
//! assert_eq!(document.nodes().nth(1).map(|n| &n.r#type), Some(&NodeType::H1));
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Everything in [`generated`] comes from `docs/openapi/extract-v3.yaml` by `cargo xtask
//! codegen`; node and annotation types are open sets, unknown fields are kept, and absent and
//! null stay apart, so any output round-trips unchanged.
#![warn(missing_docs)]

pub mod generated;
mod key;
mod model;
mod tristate;

pub use generated::{
    Annotation, AnnotationType, ContentNode, DocumentType, DownloadStatus, ExtractionStatus,
    FigureTableCellData, Location, NodeType, OutputDocument, OutputFormat, PdfPage, RelationData,
    Status, TableCellData, TextNodeData, UploadSpec, UploadUrlCreated,
};
pub use model::AnnotationKind;
