//! The crate's integration tests, one binary: each file a module, sharing one link of the
//! dependency tree (a binary per file linked it once each).

mod chunks;
mod errors;
mod growth;
mod layers;
mod tls;
