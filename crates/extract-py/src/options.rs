//! The keyword options of an extraction (`extract`, `submit`, `run` and their asyncio forms):
//! the CLI's extraction flags under Python names, checked here so that a misspelt option is an
//! error, not a silent default.

use extract_api::ExtractionOptions;
use extract_model::{DocumentType, OutputFormat};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::failure::{Failure, Result};

/// The option names, as the stubs and docs list them.
const KNOWN: &[&str] = &[
    "document_type",
    "ocr",
    "enhanced_tables",
    "figures",
    "images",
    "relations",
    "pages",
    "document_id",
    "priority",
    "output_format",
];

/// The options in `kwargs` (none: the service's defaults, with the CLI's `hierarchical_v2`).
pub fn extraction_options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<ExtractionOptions> {
    let mut options = ExtractionOptions::new().document_type(DocumentType::HierarchicalV2);
    let Some(kwargs) = kwargs else {
        return Ok(options);
    };
    for (key, value) in kwargs.iter() {
        let key: String = key.extract()?;
        let text = |value: &Bound<'_, PyAny>| -> PyResult<String> { value.extract() };
        options = match key.as_str() {
            "document_type" => options.document_type(parse(&key, &text(&value)?)?),
            "ocr" => options.ocr(value.extract()?),
            "enhanced_tables" => options.enhanced_table_extraction(value.extract()?),
            // Options that are off are left out of the request: the service's defaults apply.
            "figures" if value.extract::<bool>()? => options.figure_extraction(true),
            "images" if value.extract::<bool>()? => options.include_images(true),
            "relations" if value.extract::<bool>()? => options.include_relations(true),
            "figures" | "images" | "relations" => options,
            "pages" => options.pages(text(&value)?),
            "document_id" => options.document_id(text(&value)?),
            "priority" => options.priority(text(&value)?),
            "output_format" => options.output_format(parse::<OutputFormat>(&key, &text(&value)?)?),
            other => {
                return Err(Failure::input(format!(
                    "unknown extraction option {other:?}; the options are {}",
                    KNOWN.join(", ")
                ))
                .into());
            }
        };
    }
    Ok(options)
}

fn parse<T: std::str::FromStr>(key: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| Failure::input(format!("{key} = {text:?}: {e}")))
}
