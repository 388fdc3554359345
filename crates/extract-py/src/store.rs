//! Object-store URLs for `run` (`s3://bucket/prefix`, `gs://…`, `az://…`, `file://…`), as
//! inputs and as the output folder, read as the CLI reads them (`extract_batch::Place::parse`).

use extract_batch::{Place, PlaceError};

use crate::failure::{Failure, Result};

/// The place `text` names: a URL with a scheme, else a local path.
pub fn place(text: &str) -> Result<Place> {
    Place::parse(text)
        .map_err(|e: PlaceError| Failure::new(e.kind(), extract_api::Chain(&e).to_string()))
}
