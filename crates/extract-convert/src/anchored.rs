//! Markdown for citation: a marker at the start of every page, and a source map giving, for
//! every node, the bytes of Markdown it produced with its uid, page and box.
//!
//! The map is recorded while the Markdown is written (never found by searching the text
//! afterwards), so a sentence that occurs twice still points at the node of each copy.

use std::borrow::Cow;

use extract_model::{ContentNode, OutputDocument};
use serde::Serialize;

use crate::blocks::reading_order;
use crate::marked::{Region, regions};
use crate::tables::{Cell, Layout, Slot, Structure, is_table};
use crate::text::heading_prefix;

/// What [`to_markdown_with_map`] adds to plain Markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MarkdownOptions {
    /// A line `<!-- page N -->` where each page starts (1-based page numbers, as the output
    /// gives them: absolute when the request asked for absolute page numbers).
    pub page_anchors: bool,
}

impl MarkdownOptions {
    /// With or without page markers.
    pub fn with_page_anchors(mut self, page_anchors: bool) -> Self {
        self.page_anchors = page_anchors;
        self
    }
}

/// Where the Markdown of every node is: the source map file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SourceMap {
    /// The map's format version (this is 1).
    pub version: u32,
    /// Byte ranges count UTF-8 bytes of the Markdown.
    pub units: &'static str,
    /// One entry per node that produced Markdown, in the order of the Markdown.
    pub nodes: Vec<MapEntry>,
}

/// A node and the bytes of Markdown it produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MapEntry {
    /// The node's uid.
    pub uid: String,
    /// The node's type, lower case.
    #[serde(rename = "type")]
    pub node_type: String,
    /// The first byte of the node's Markdown (its text, after any `#` prefix).
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The page of the node's first box, 1-based.
    pub page: Option<i64>,
    /// The node's first box: `[x, y, width, height]`, fractions of the page, origin top-left.
    #[serde(rename = "box")]
    pub bbox: Option<[f64; 4]>,
    /// Its further boxes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Region>,
}

/// Markdown with optional page markers, and the source map recorded while writing it.
///
/// Every item appears once, at its first page (an item across two pages is not repeated);
/// `|` and line breaks inside table cells are escaped (`\|`, `<br>`), so a cell cannot break
/// its row. A table with merged cells repeats their text in every cell they cover, and says
/// so in a comment under the table.
///
/// ```
/// use extract_convert::{MarkdownOptions, to_markdown_with_map};
/// use extract_model::OutputDocument;
/// let document = OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT",
///   "content": null, "children": [
///     {"uid": "1", "type": "H1", "content": "Results", "children": [], "locations": [
///       {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.05, "page_number": 2}]}]},
///   "annotations": []}"#)?;
/// let options = MarkdownOptions::default().with_page_anchors(true);
/// let (markdown, map) = to_markdown_with_map(&document, &options);
/// assert_eq!(markdown, "<!-- page 3 -->\n# Results");
/// let entry = &map.nodes[0];
/// assert_eq!(&markdown[entry.start..entry.end], "Results");
/// assert_eq!(entry.page, Some(3));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn to_markdown_with_map(
    document: &OutputDocument,
    options: &MarkdownOptions,
) -> (String, SourceMap) {
    let structure = Structure::of(document);
    let mut writer = Writer::default();
    let mut page = 0;
    for node in reading_order(document) {
        let table = is_table(&node.r#type);
        let text = node.content.as_deref().unwrap_or("");
        if !table && text.is_empty() {
            continue;
        }
        let cells = if table {
            structure.cells(node)
        } else {
            Vec::new()
        };
        if table && cells.is_empty() {
            continue;
        }
        let first_page = regions(node).first().map(|r| r.page);
        writer.line_break();
        if options.page_anchors
            && let Some(first) = first_page
            && first > page
        {
            page = first;
            writer.out.push_str(&format!("<!-- page {first} -->\n"));
        }
        if table {
            writer.table(node, &Layout::of(&cells));
        } else {
            writer
                .out
                .push_str(heading_prefix(&node.r#type.as_str().to_lowercase()));
            writer.node(node, text);
        }
    }
    let map = SourceMap {
        version: 1,
        units: "bytes",
        nodes: writer.map,
    };
    (writer.out, map)
}

/// A table cell's text made safe inside a Markdown row: `|` escaped, line breaks as `<br>`.
pub(crate) fn escape_cell(text: &str) -> Cow<'_, str> {
    if !text.contains(['|', '\n', '\r']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.replace("\r\n", "<br>")
            .replace(['\n', '\r'], "<br>")
            .replace('|', "\\|"),
    )
}

#[derive(Default)]
struct Writer {
    out: String,
    map: Vec<MapEntry>,
}

impl Writer {
    fn line_break(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    /// Writes `text` for `node` and maps it.
    fn node(&mut self, node: &ContentNode, text: &str) {
        let start = self.out.len();
        self.out.push_str(text);
        self.mark(node, start);
    }

    fn mark(&mut self, node: &ContentNode, start: usize) {
        let entry = entry(node, start, self.out.len());
        self.map.push(entry);
    }

    /// A table as `|` rows between blank lines, the separator under its header rows (or its
    /// first row), each cell mapped where its text is written first.
    fn table(&mut self, table: &ContentNode, layout: &Layout) {
        self.out.push('\n');
        let start = self.out.len();
        let index = self.map.len();
        let header = layout.header_rows().max(1);
        // Each position shows the cell that starts there or covers it.
        let width = layout.slots.first().map_or(0, Vec::len);
        // (the cell, whether this is its top-left position)
        let mut shown: Vec<Vec<Option<(Cell, bool)>>> = vec![vec![None; width]; layout.slots.len()];
        for (r, row) in layout.slots.iter().enumerate() {
            for (c, slot) in row.iter().enumerate() {
                if let Slot::Start(cell, (rows, cols)) = slot {
                    for (dr, line) in shown.iter_mut().skip(r).take(*rows).enumerate() {
                        for (dc, place) in line.iter_mut().skip(c).take(*cols).enumerate() {
                            *place = Some((*cell, dr == 0 && dc == 0));
                        }
                    }
                }
            }
        }
        for (r, row) in shown.iter().enumerate() {
            if r > 0 {
                self.out.push('\n');
            }
            self.out.push('|');
            for place in row {
                self.out.push(' ');
                if let Some((cell, first)) = place {
                    let cell_start = self.out.len();
                    self.out.push_str(&escape_cell(cell.text));
                    if *first {
                        self.mark(cell.node, cell_start);
                    }
                }
                self.out.push_str(" |");
            }
            if r + 1 == header {
                self.out
                    .push_str(&format!("\n|{}", " --- |".repeat(row.len())));
            }
        }
        self.map.insert(index, entry(table, start, self.out.len()));
        if layout.has_spans() {
            self.out.push_str(
                "\n<!-- merged cells: their text is repeated in every cell they cover (the HTML conversion keeps the spans) -->",
            );
        }
        self.out.push('\n');
    }
}

/// The map entry of `node` for the bytes `start..end`.
fn entry(node: &ContentNode, start: usize, end: usize) -> MapEntry {
    let mut boxes = regions(node).into_iter();
    let first = boxes.next();
    MapEntry {
        uid: node.uid.clone(),
        node_type: node.r#type.as_str().to_lowercase(),
        start,
        end,
        page: first.map(|r| r.page),
        bbox: first.map(|r| r.bbox),
        more: boxes.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_their_row() {
        assert_eq!(escape_cell("a|b\nc\r\nd"), "a\\|b<br>c<br>d");
        assert!(matches!(escape_cell("plain"), Cow::Borrowed(_)));
    }
}
