//! `Document`: an Extract output, parsed once into the typed model, with the converters as
//! methods. Conversions run without the GIL; results cross into Python as plain `str`, `list`
//! and `dict` (pythonize), never as JSON text to parse again.

use std::sync::Arc;

use extract_convert::{ChunkOptions, Estimate, HtmlOptions, TableGrid};
use extract_model::OutputDocument;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use pythonize::pythonize;
use serde::Serialize;

use crate::failure::Failure;
use crate::read::read_without;

/// A parsed Extract output document.
#[pyclass(frozen, module = "kensho_extract")]
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) inner: Arc<OutputDocument>,
}

impl Document {
    pub fn new(document: OutputDocument) -> Document {
        Document {
            inner: Arc::new(document),
        }
    }
}

/// The document in `data`: JSON text (`str` or `bytes`), or the `dict` `json.load` gives; the
/// bare output, or a status answer `{"status": …, "output": …}`.
pub fn parse(data: &Bound<'_, PyAny>) -> PyResult<OutputDocument> {
    parse_without(data, &[])
}

/// [`parse`], leaving a dict's `unread` fields unread (JSON text is read whole).
pub fn parse_without(
    data: &Bound<'_, PyAny>,
    unread: &'static [&'static str],
) -> PyResult<OutputDocument> {
    let py = data.py();
    if let Ok(text) = data.cast::<PyString>() {
        let text = text.to_cow()?;
        return Ok(py
            .detach(|| OutputDocument::from_json(text.as_bytes()))
            .map_err(Failure::from)?);
    }
    if let Ok(bytes) = data.cast::<PyBytes>() {
        let bytes = bytes.as_bytes();
        return Ok(py
            .detach(|| OutputDocument::from_json(bytes))
            .map_err(Failure::from)?);
    }
    if let Ok(dict) = data.cast::<PyDict>() {
        // A status answer holds the document under `output`.
        let document = match dict.get_item("output")? {
            Some(output) if !dict.contains("content_tree")? => output,
            _ => data.clone(),
        };
        return read_without::<OutputDocument>(&document, unread)
            .map_err(|e| Failure::input(format!("not an Extract output document: {e}")).into());
    }
    Err(Failure::input(format!(
        "an Extract output is JSON text (str or bytes) or a dict, not {}",
        data.get_type().name()?
    ))
    .into())
}

/// A converter's result as Python objects.
pub fn to_python<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize(py, value)?)
}

#[pymethods]
impl Document {
    /// Parses an output document: JSON text (`str`, `bytes`) or a `dict`.
    #[staticmethod]
    fn from_json(data: &Bound<'_, PyAny>) -> PyResult<Document> {
        Ok(Document::new(parse(data)?))
    }

    /// The document as JSON text, as the service sent it (fields this version does not know
    /// included).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        let document = &self.inner;
        Ok(py
            .detach(|| serde_json::to_string(document.as_ref()))
            .map_err(Failure::from)?)
    }

    /// The document as a `dict`, as `json.loads(doc.to_json())` would give.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, self.inner.as_ref())
    }

    /// Markdown: headings as `#`, tables as pipe tables.
    fn to_markdown(&self, py: Python<'_>) -> String {
        let document = &self.inner;
        py.detach(|| extract_convert::to_markdown(document))
    }

    /// Plain text, one block a line.
    fn to_text(&self, py: Python<'_>) -> String {
        let document = &self.inner;
        py.detach(|| extract_convert::to_text(document))
    }

    /// Each page's text (Markdown with `markdown=True`), in page order; pages with nothing on
    /// them are left out.
    #[pyo3(signature = (*, markdown = false))]
    fn pages(&self, py: Python<'_>, markdown: bool) -> Vec<String> {
        let document = &self.inner;
        py.detach(|| match markdown {
            true => extract_convert::to_markdown_by_page(document),
            false => extract_convert::to_text_by_page(document),
        })
    }

    /// Every table, in reading order, with merged cells copied into each cell they cover
    /// (`duplicate_spans=False`: only into the top-left one).
    #[pyo3(signature = (*, duplicate_spans = true))]
    fn tables(&self, py: Python<'_>, duplicate_spans: bool) -> Vec<Table> {
        let document = &self.inner;
        py.detach(|| extract_convert::tables(document, duplicate_spans))
            .into_iter()
            .map(|(uid, grid)| Table { uid, grid })
            .collect()
    }

    /// Chunks of at most `max_tokens` tokens (estimated) for retrieval, each a dict with its
    /// `text`, `tokens`, `headings`, `pages` and `sources` (the nodes and offsets it came from).
    #[pyo3(signature = (*, max_tokens = 512, overlap = 0))]
    fn chunks<'py>(
        &self,
        py: Python<'py>,
        max_tokens: usize,
        overlap: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let document = &self.inner;
        let mut options = ChunkOptions::default();
        options.max_tokens = max_tokens;
        options.overlap = overlap;
        let chunks = py
            .detach(|| extract_convert::chunks(document, &options, &Estimate))
            .map_err(|e| Failure::input(e.to_string()))?;
        to_python(py, &chunks)
    }

    /// One HTML page: headings, paragraphs and tables (merged cells as `rowspan`/`colspan`).
    fn to_html(&self, py: Python<'_>) -> String {
        let document = &self.inner;
        py.detach(|| extract_convert::to_html(document, &HtmlOptions::default()))
    }

    /// The items in reading order, as kenverters gives them: dicts with `content_id`,
    /// `category`, `text` (tables: `table` too), and `locations` when asked.
    #[pyo3(signature = (*, locations = false))]
    fn items<'py>(&self, py: Python<'py>, locations: bool) -> PyResult<Bound<'py, PyAny>> {
        let document = &self.inner;
        let items = py.detach(|| extract_convert::items(document, locations));
        to_python(py, &items)
    }

    /// The `support` relations between items: dicts with `relation_type`,
    /// `source_content_id` and `target_content_id`.
    fn relations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &extract_convert::relations(&self.inner))
    }

    /// The items split into sections, a new one at each title or level-1 heading.
    fn sections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let document = &self.inner;
        let sections = py.detach(|| extract_convert::sections(document));
        to_python(py, &sections)
    }

    fn __repr__(&self) -> String {
        format!(
            "<kensho_extract.Document: {} nodes, {} annotations>",
            self.inner.nodes().count(),
            self.inner.annotations.len()
        )
    }
}

/// A table of a document as a grid of strings.
#[pyclass(frozen, module = "kensho_extract")]
#[derive(Debug, Clone)]
pub struct Table {
    uid: String,
    grid: TableGrid,
}

#[pymethods]
impl Table {
    /// The uid of the table's node.
    #[getter]
    fn uid(&self) -> &str {
        &self.uid
    }

    /// `TABLE`, `TABLE_OF_CONTENTS` or `FIGURE_EXTRACTED_TABLE`.
    #[getter]
    fn category(&self) -> &str {
        &self.grid.category
    }

    /// Rows of cells.
    #[getter]
    fn grid(&self) -> Vec<Vec<String>> {
        self.grid.grid.clone()
    }

    /// The grid as CSV (RFC 4180).
    fn to_csv(&self) -> String {
        extract_convert::grid_to_csv(&self.grid.grid)
    }

    /// The grid as a Markdown pipe table.
    fn to_markdown(&self) -> String {
        extract_convert::grid_to_markdown(&self.grid.grid)
    }

    /// The grid as a pandas `DataFrame` (pandas must be installed): the first row as the
    /// column names when there is more than one row, as kenverters does.
    #[pyo3(signature = (*, header = true))]
    fn to_pandas<'py>(&self, py: Python<'py>, header: bool) -> PyResult<Bound<'py, PyAny>> {
        let pandas = py.import("pandas").map_err(|_| {
            Failure::input("Table.to_pandas needs pandas: pip install 'kensho-extract[pandas]'")
        })?;
        let grid = &self.grid.grid;
        match grid.split_first() {
            Some((columns, rows)) if header && !rows.is_empty() => {
                let kwargs = PyDict::new(py);
                kwargs.set_item("columns", columns)?;
                pandas.call_method("DataFrame", (rows.to_vec(),), Some(&kwargs))
            }
            _ => pandas.call_method1("DataFrame", (grid.clone(),)),
        }
    }

    fn __len__(&self) -> usize {
        self.grid.grid.len()
    }

    fn __repr__(&self) -> String {
        let columns = self.grid.grid.first().map_or(0, Vec::len);
        format!(
            "<kensho_extract.Table {} {}: {} rows x {} columns>",
            self.grid.category,
            self.uid,
            self.grid.grid.len(),
            columns
        )
    }
}
