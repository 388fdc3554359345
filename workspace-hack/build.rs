//! Nothing to build: the script exists so that this crate's `[build-dependencies]` (the test
//! build's features for build scripts' and macros' dependencies) are part of the build.

fn main() {}
