//! The Kensho Extract v3 API, typed.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_api::{Client, ExtractionOptions, RetrievalMode};
//! use extract_auth::AuthConfig;
//!
//! let client = Client::builder().auth_config(&AuthConfig::from_env())?.build()?;
//! let submission = client.submit_file("report.pdf".as_ref(), &ExtractionOptions::new()).await?;
//! assert_eq!(submission.mode, RetrievalMode::Inline);
//! let status = client.status(&submission.request_id, None).await?;
//! if let Some(document) = status.output {
//!     for node in document.nodes() {
//!         println!("{}: {}", node.r#type, node.content.as_deref().unwrap_or(""));
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The request and response types, and the output document model, are generated from the
//! OpenAPI contract in `docs/openapi/extract-v3.yaml` (`cargo xtask codegen`) into the
//! network-free `extract-model` crate; everything a user needs is re-exported here. The [`Client`] injects the
//! bearer token (on a 401 it drops that token and tries again with a new one, backing off while
//! the retry policy allows), streams uploads from disk, and retries what is safe
//! to retry: reads on connection errors, timeouts, 429 and 5xx; a submission only when the
//! service surely did not take it, so a job is never created twice silently.
#![warn(missing_docs)]

mod api;
mod budget;
mod client;
mod document;
mod error;
mod preflight;
mod retry;
mod structure;
mod watchdog;

pub use api::ExtractApi;
#[cfg(any(test, feature = "mock"))]
pub use api::MockExtractApi;
pub use budget::{BudgetState, RateBudget};
#[allow(deprecated)]
pub use client::Submission;
pub use client::{Client, ClientBuilder, JobHandle, RetrievalMode};
pub use document::{DIRECT_LIMIT, check as check_document};
pub use error::{ApiError, BoxError};
/// The exponential backoff every layer shares (from `extract-auth`).
pub use extract_auth::backoff;
pub use extract_auth::{Chain, ErrorKind};
pub use extract_model::{
    Annotation, AnnotationKind, AnnotationType, ContentNode, DocumentType, DownloadStatus,
    ExtractionStatus, FigureTableCellData, Location, NodeType, OutputDocument, OutputFormat,
    PdfPage, RelationData, Status, TableCellData, TextNodeData, UploadSpec, UploadUrlCreated,
    generated,
};
pub use preflight::{
    PRESIGNED_LIMIT, PageSelection, Preflight, count_pages, count_pages_in, count_pages_of_file,
    preflight,
};
pub use structure::{PdfFacts, StructureError, read_facts};
/// The options of an extraction request: the fields of a direct submission, with builders
/// (`ExtractionOptions::new().ocr(true)…`) and the service's defaults.
pub type ExtractionOptions = extract_model::generated::SubmitForm;
pub use retry::{
    AttemptLimit, NoRetry, RetryDecision, RetryPolicy, RetryPolicyExt, StandardRetry, TimeLimit,
};
