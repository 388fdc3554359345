//! One command a file: its arguments and its `run`, which reads as the command's steps. What
//! several share (settings, connection flags, output files, exit codes, progress, events) lives
//! beside this folder.

pub mod auth;
pub mod cache;
pub mod completions;
pub mod config;
pub mod convert;
#[cfg(feature = "emulator")]
pub mod demo;
pub mod diff;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod fetch;
pub mod keys;
pub mod man;
pub mod report;
pub mod review;
pub mod run;
pub mod status;
pub mod submit;
pub mod wait;
