//! Waiting for Kensho Extract jobs, one or a whole folder of them.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_api::{Client, ExtractionOptions};
//! use extract_poll::{JobHandle, PollPolicy, Poller};
//!
//! let client = Client::builder().auth_config(&extract_auth::AuthConfig::from_env())?.build()?;
//! let job: JobHandle = client.submit_file("report.pdf".as_ref(), &ExtractionOptions::new()).await?.into();
//! // `job` serializes: save it, and resume in another process with the same call.
//! let document = Poller::new(client, PollPolicy::default()).wait(&job).await?;
//! println!("{} nodes", document.nodes().count());
//! # Ok(())
//! # }
//! ```
//!
//! [`Poller`] drives one job through its states under a [`PollPolicy`] (growing delays with
//! jitter, a floor, `Retry-After`, a deadline that ends in a distinct error); transient poll
//! failures are retried, never fatal. [`BatchRunner`] runs many documents with bounded
//! concurrency and a manifest that makes a re-run resume instead of resubmitting.
#![warn(missing_docs)]

mod batch;
mod cache;
mod document_error;
mod error;
mod folder;
mod journal;
mod lease;
mod location;
mod lock;
mod manifest;
pub mod names;
mod pace;
mod parts;
mod plan;
mod policy;
mod poller;
mod shard;
mod source;
pub mod split;
mod state;

pub use batch::{
    BatchEvent, BatchOutcome, BatchReport, BatchRunner, BatchSummary, Render, RenderFrom, expand,
    hash_file,
};
pub use cache::{CacheStats, OutputCache};
pub use document_error::DocumentError;
pub use error::PollError;
pub use folder::{STATE_DIR, manifest_shown, shard_manifests};
pub use journal::{JOURNAL_FILE, Journal};
pub use location::{Location, StoreLocation};
pub use lock::{FolderLock, LOCK_FILE};
pub use manifest::{
    EntryState, MANIFEST_FILE, MANIFEST_VERSION, Manifest, ManifestEntry, PartEntry, input_key,
};
pub use plan::{PlannedInput, plan};
pub use policy::{PollPolicy, PollingPolicy};
pub use poller::{JobEvent, Poller};
pub use shard::Shard;
pub use source::MAX_OBJECT_BYTES;
pub use state::{JobHandle, JobState};

/// Bytes as lower-case hex (digests in manifests, cache keys and names).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
