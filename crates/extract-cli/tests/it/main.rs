//! The crate's integration tests, one binary: each file a module, sharing one link of the
//! dependency tree (a binary per file linked it once each).

mod auth;
mod cache;
mod common;
mod convert;
mod deadlines;
mod emulator;
mod fencing;
mod image;
mod jobs;
mod keys;
mod pipeline;
mod review;
mod run;
mod scale;
mod shell;
mod slurm;
mod split;
