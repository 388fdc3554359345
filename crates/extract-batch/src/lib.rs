//! Many Kensho Extract documents at once: bounded concurrency with one task per document, a
//! manifest and journal that make a re-run resume instead of resubmitting, output folders on
//! this machine or in object stores, and shards that N workers run as one batch, each holding a
//! fenced lease on its shard.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_api::Client;
//! use extract_batch::BatchRunner;
//!
//! let client = Client::builder().auth_config(&extract_auth::AuthConfig::from_env())?.build()?;
//! let report = BatchRunner::new(client, "out").concurrency(8).run(&["pdfs".into()]).await?;
//! println!("{} succeeded", report.summary.succeeded);
//! # Ok(())
//! # }
//! ```
//!
//! A run goes through stages, each a module: `list` the inputs, `name` their outputs, `claim`
//! the output folder (a lock, or a fenced lease), then for each document `submit`, `wait` and
//! `write`, and `report`. `runner` strings them together; `document` is one document's way
//! through them.
#![warn(missing_docs)]

mod busy;
mod cache;
mod claim;
#[cfg(feature = "clouds")]
mod clouds;
mod document;
mod document_error;
mod fence;
mod folder;
mod input;
mod journal;
mod lease;
mod list;
mod lock;
mod manifest;
mod name;
pub mod names;
mod parts;
mod place;
mod plan;
mod report;
mod runner;
mod scheduler;
mod shard;

pub mod split;
mod submit;
mod wait;
mod write;

// The single-job layer this crate builds on, named at the root for its modules.
use extract_poll::{JobEvent, JobHandle, PollError, PollPolicy, Poller, PollingPolicy};

pub use busy::{ForeignFile, InUse};
pub use cache::{CacheScope, CacheScopeError, CacheStats, OutputCache, ServiceStats};
#[cfg(feature = "clouds")]
pub use clouds::PlaceError;
pub use document_error::{CredentialsRefused, DocumentError};
pub use fence::LeaseLost;
pub use folder::{STATE_DIR, manifest_shown, shard_manifests};
pub use input::MAX_OBJECT_BYTES;
pub use journal::JournalStats;
pub use journal::{JOURNAL_FILE, Journal};
pub use list::{expand, hash_file};
pub use place::{Place, StorePrefix, redact_url};

/// The former name of [`Place`], which clashed with the model's `Location` (a box on a page).
#[deprecated(
    since = "0.1.0",
    note = "renamed Place: `Location` is the model's box on a page"
)]
pub type Location = Place;
/// The former name of [`StorePrefix`].
#[deprecated(since = "0.1.0", note = "renamed StorePrefix")]
pub type StoreLocation = StorePrefix;
pub use lock::{FolderLock, LOCK_FILE};
pub use manifest::{
    EntryState, MANIFEST_FILE, MANIFEST_VERSION, Manifest, ManifestEntry, PartEntry, input_key,
};
pub use plan::{PlannedInput, plan};
pub use report::{BatchEvent, BatchOutcome, BatchReport, BatchSummary};
pub use runner::BatchRunner;
pub use scheduler::{SHARD_COUNT_ENV, ScheduledShard, Scheduler, SchedulerError};
pub use shard::{Shard, ShardError};
pub use write::{Render, RenderFrom};

/// Bytes as lower-case hex (digests in manifests, cache keys and names).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
