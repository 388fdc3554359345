//! The crate's integration tests, one binary: each file a module, sharing one link of the
//! dependency tree (a binary per file linked it once each).

mod auth;
/// Batches over many workers: shards, leases, fencing, a real Slurm cluster and moto's S3.
/// These are the suite's longest tests (tens of seconds, mostly waiting on other processes);
/// libtest starts tests in name order, so under this name they start among the first and the
/// rest run beside them.
mod batch {
    mod fencing;
    mod scale;
    mod slurm;
}
mod cache;
mod common;
mod convert;
mod deadlines;
mod emulator;
mod image;
mod jobs;
mod keys;
mod pipeline;
mod review;
mod run;
mod shell;
mod split;
