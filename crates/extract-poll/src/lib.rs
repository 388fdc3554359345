//! Waiting for one Kensho Extract job: a state machine, a polling policy, and a poller.
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
//! failures are retried, never fatal. [`Pace`] learns a batch's seconds per page so that later
//! jobs are polled near their predicted finish. Many documents at once (manifests, journals,
//! object stores, shards) are the `extract-batch` crate's.
#![warn(missing_docs)]

mod error;
mod pace;
mod policy;
mod poller;
mod state;

pub use error::PollError;
pub use pace::Pace;
pub use policy::{PollPolicy, PollingPolicy};
pub use poller::{JobEvent, Poller};
pub use state::{JobHandle, JobState};
