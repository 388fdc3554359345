//! The conversions behind `kensho_extract.kenverters`: each takes the `output` dict kenverters
//! takes and gives the plain values its functions return; the Python module wraps them in
//! kenverters' result types. The dict is read once into the typed model (no JSON text in
//! between) and the conversion runs without the GIL.

use std::collections::HashMap;

use extract_convert::VisualOptions;
use extract_model::{AnnotationType, NodeType, OutputDocument};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::document::{parse_without, to_python};

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(kv_items, module)?)?;
    module.add_function(wrap_pyfunction!(kv_text, module)?)?;
    module.add_function(wrap_pyfunction!(kv_markdown, module)?)?;
    module.add_function(wrap_pyfunction!(kv_text_by_page, module)?)?;
    module.add_function(wrap_pyfunction!(kv_markdown_by_page, module)?)?;
    module.add_function(wrap_pyfunction!(kv_sections, module)?)?;
    module.add_function(wrap_pyfunction!(kv_table_grids, module)?)?;
    module.add_function(wrap_pyfunction!(kv_visual, module)?)?;
    Ok(())
}

/// Where things sit on the page: boxes, and each text's boxes and character offsets. Most of a
/// document's objects, and nothing that Markdown, text, sections or table grids look at, so
/// those conversions leave them unread (`read::read_without`).
const PLACES: &[&str] = &["locations", "text_node_data", "pdf_pages"];

/// Parses `document` and runs `convert` on it without the GIL.
fn converted<T: Send>(
    document: &Bound<'_, PyAny>,
    convert: impl FnOnce(&OutputDocument) -> T + Send,
) -> PyResult<T> {
    converted_without(document, &[], convert)
}

/// Parses `document` but its `unread` fields, and runs `convert` on it without the GIL.
fn converted_without<T: Send>(
    document: &Bound<'_, PyAny>,
    unread: &'static [&'static str],
    convert: impl FnOnce(&OutputDocument) -> T + Send,
) -> PyResult<T> {
    let parsed = parse_without(document, unread)?;
    Ok(document.py().detach(|| convert(&parsed)))
}

/// `(items, relations or None)`, as `convert_output_to_items_list_and_relations`.
#[pyfunction]
fn kv_items<'py>(
    document: &Bound<'py, PyAny>,
    locations: bool,
    relations: bool,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    let py = document.py();
    let unread = if locations { &[][..] } else { PLACES };
    let (items, relations) = converted_without(document, unread, |d| {
        (
            extract_convert::items(d, locations),
            relations.then(|| extract_convert::relations(d)),
        )
    })?;
    Ok((
        to_python(py, &items)?,
        relations.map(|r| to_python(py, &r)).transpose()?,
    ))
}

#[pyfunction]
fn kv_text(document: &Bound<'_, PyAny>) -> PyResult<String> {
    converted_without(document, PLACES, extract_convert::to_text)
}

#[pyfunction]
fn kv_markdown(document: &Bound<'_, PyAny>) -> PyResult<String> {
    converted_without(document, PLACES, extract_convert::to_markdown)
}

#[pyfunction]
fn kv_text_by_page(document: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    converted(document, extract_convert::to_text_by_page)
}

#[pyfunction]
fn kv_markdown_by_page(document: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    converted(document, extract_convert::to_markdown_by_page)
}

#[pyfunction]
fn kv_sections<'py>(document: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let sections = converted_without(document, PLACES, extract_convert::sections)?;
    to_python(document.py(), &sections)
}

/// Each page drawn as text where its items sit, as `convert_output_to_str_formatted`.
#[pyfunction]
fn kv_visual(
    document: &Bound<'_, PyAny>,
    page_width: usize,
    page_height: usize,
    resize: bool,
) -> PyResult<Vec<String>> {
    let mut options = VisualOptions::default();
    options.page_width = page_width;
    options.page_height = page_height;
    options.resize = resize;
    converted(document, |d| extract_convert::to_visual(d, options))
}

/// One table for `build_table_grids`: its uid, category, grid, and the indices in
/// `annotations` of its cells' structure annotations (in its cells' order).
type TableRow = (String, String, Vec<Vec<String>>, Vec<usize>);

/// A table as `build_table_grids` gives it to Python: uid, category, grid, annotations.
type PyTable<'py> = (String, String, Vec<Vec<String>>, Bound<'py, PyList>);

/// `[(uid, category, grid, annotations)]` in reading order, as `build_table_grids` (the last
/// table of a uid wins, as in its dict). The annotations are the input's own dicts, taken from
/// the input's `annotations` list.
#[pyfunction]
fn kv_table_grids<'py>(
    document: &Bound<'py, PyAny>,
    duplicate_spans: bool,
) -> PyResult<Vec<PyTable<'py>>> {
    let py = document.py();
    let rows: Vec<TableRow> = converted_without(document, PLACES, |d| {
        let cells = table_cells(d);
        // kenverters keys structure annotations by their first content uid; the last wins.
        let by_cell: HashMap<&str, usize> = d
            .annotations
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                matches!(
                    a.r#type,
                    AnnotationType::TableStructure | AnnotationType::FigureExtractedTableStructure
                )
            })
            .filter_map(|(i, a)| Some((a.content_uids.as_ref()?.first()?.as_str(), i)))
            .collect();
        extract_convert::tables(d, duplicate_spans)
            .into_iter()
            .map(|(uid, grid)| {
                let annotations = cells
                    .get(uid.as_str())
                    .map(|uids| {
                        uids.iter()
                            .filter_map(|u| by_cell.get(u.as_str()).copied())
                            .collect()
                    })
                    .unwrap_or_default();
                let category = grid.category.clone();
                (uid, category, grid.grid, annotations)
            })
            .collect()
    })?;
    // The annotations as the caller's own objects: nothing to convert back.
    let given = document
        .get_item("annotations")
        .ok()
        .and_then(|a| a.cast_into::<PyList>().ok());
    rows.into_iter()
        .map(|(uid, category, grid, indices)| {
            let list = PyList::empty(py);
            if let Some(given) = &given {
                for i in indices {
                    list.append(given.get_item(i)?)?;
                }
            }
            Ok((uid, category, grid, list))
        })
        .collect()
}

/// Each table node's cell uids, in order (kenverters' `get_table_uid_to_cells_mapping`).
fn table_cells(document: &OutputDocument) -> HashMap<&str, Vec<&String>> {
    document
        .nodes()
        .filter(|n| {
            matches!(
                n.r#type,
                NodeType::Table | NodeType::TableOfContents | NodeType::FigureExtractedTable
            )
        })
        .map(|n| {
            let cells = n
                .children
                .iter()
                .filter(|c| {
                    matches!(
                        c.r#type,
                        NodeType::TableCell | NodeType::FigureExtractedTableCell
                    )
                })
                .map(|c| &c.uid)
                .collect();
            (n.uid.as_str(), cells)
        })
        .collect()
}
