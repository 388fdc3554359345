//! The batch runner's integration tests, as one binary (one link against the dependency tree,
//! not one per file).

mod common;
mod emulator;
mod folder;
mod isolation;
mod stores;
