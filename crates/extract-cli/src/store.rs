//! Paths and object-store URLs on the command line (`s3://bucket/prefix`, `gs://…`, `az://…`,
//! `file://…`), for `run`'s inputs, `--out-dir` and `report`: read by
//! `extract_batch::Place::parse`, which the Python package shares.

use std::path::Path;

use extract_batch::Place;

use crate::Failure;

/// A path, or an object-store URL, as the location it names (a path that is not UTF-8 is a
/// path).
pub fn place(raw: &Path) -> Result<Place, Failure> {
    match raw.to_str() {
        Some(text) => Ok(Place::parse(text)?),
        None => Ok(Place::Local(raw.to_path_buf())),
    }
}
