//! HTML, where tables lose nothing: merged cells keep their `rowspan`/`colspan`, header rows
//! go in `<thead>`, captions in `<caption>`. Parsing a table back gives exactly its grid.

use extract_model::{ContentNode, OutputDocument};

use crate::blocks::{Block, blocks, stitch_tables};
use crate::tables::{Layout, Slot, Structure, is_table};

/// What [`to_html`] and [`tables_html`] may do beyond the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HtmlOptions {
    /// Join a table continued on the next page (same columns, repeated header rows) to the
    /// table it continues, as one `<table>`; off by default.
    pub stitch_tables: bool,
}

impl HtmlOptions {
    /// Whether tables continued on the next page are joined.
    pub fn with_stitch_tables(mut self, stitch_tables: bool) -> Self {
        self.stitch_tables = stitch_tables;
        self
    }
}

/// The blocks HTML is written from: everything, page furniture included.
fn html_blocks<'a>(
    document: &'a OutputDocument,
    structure: &Structure<'_>,
    options: &HtmlOptions,
) -> Vec<Block<'a>> {
    let list = blocks(document, true);
    if options.stitch_tables {
        stitch_tables(list, structure)
    } else {
        list
    }
}

/// Every table of the document as an HTML `<table>`, in reading order, one after another.
///
/// ```
/// use extract_convert::{HtmlOptions, tables_html};
/// use extract_model::OutputDocument;
/// let document = OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT",
///   "content": null, "children": [{"uid": "1", "type": "TABLE", "content": null, "children": [
///     {"uid": "2", "type": "TABLE_CELL", "content": "Year & quarter", "children": []},
///     {"uid": "3", "type": "TABLE_CELL", "content": "2025", "children": []},
///     {"uid": "4", "type": "TABLE_CELL", "content": "Q1", "children": []}]}]},
///   "annotations": [
///     {"type": "table_structure", "content_uids": ["2"], "data": {"index": [0, 0], "span": [1, 2], "is_column_header": true}},
///     {"type": "table_structure", "content_uids": ["3"], "data": {"index": [1, 0], "span": [1, 1]}},
///     {"type": "table_structure", "content_uids": ["4"], "data": {"index": [1, 1], "span": [1, 1]}}]}"#)?;
/// assert_eq!(
///     tables_html(&document, &HtmlOptions::default()),
///     "<table data-uid=\"1\">\n<thead>\n<tr><th colspan=\"2\" data-uid=\"2\">Year &amp; quarter</th></tr>\n</thead>\n\
///      <tbody>\n<tr><td data-uid=\"3\">2025</td><td data-uid=\"4\">Q1</td></tr>\n</tbody>\n</table>\n"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn tables_html(document: &OutputDocument, options: &HtmlOptions) -> String {
    let structure = Structure::of(document);
    let mut out = String::new();
    for block in html_blocks(document, &structure, options) {
        if let Block::Captioned {
            node,
            before,
            after,
            continued,
        } = block
            && is_table(&node.r#type)
        {
            let layout = Layout::stitched(&structure, node, &continued);
            table(&mut out, node, &layout, &before, &after);
        }
    }
    out
}

/// The whole document as one self-contained HTML page: headings, paragraphs, figures with
/// their captions, and tables as [`tables_html`] writes them.
///
/// ```
/// use extract_convert::{HtmlOptions, to_html};
/// use extract_model::OutputDocument;
/// let document = OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT",
///   "content": null, "children": [
///     {"uid": "1", "type": "H1", "content": "Results", "children": []},
///     {"uid": "2", "type": "PARAGRAPH", "content": "Revenue <grew>.", "children": []}]},
///   "annotations": []}"#)?;
/// let html = to_html(&document, &HtmlOptions::default());
/// assert!(html.contains("<h1 data-uid=\"1\">Results</h1>\n<p data-uid=\"2\">Revenue &lt;grew&gt;.</p>"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn to_html(document: &OutputDocument, options: &HtmlOptions) -> String {
    let structure = Structure::of(document);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Extract output</title>\n\
         <style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}</style>\n\
         </head>\n<body>\n",
    );
    for block in html_blocks(document, &structure, options) {
        match block {
            Block::Heading { level, node } => {
                let tag = format!("h{level}");
                element(&mut out, &tag, node, node.content.as_deref().unwrap_or(""));
            }
            Block::Text(node) => {
                element(&mut out, "p", node, node.content.as_deref().unwrap_or(""))
            }
            Block::Captioned {
                node,
                before,
                after,
                continued,
            } if is_table(&node.r#type) => {
                let layout = Layout::stitched(&structure, node, &continued);
                table(&mut out, node, &layout, &before, &after);
            }
            Block::Captioned {
                node,
                before,
                after,
                ..
            } => {
                out.push_str(&format!("<figure data-uid=\"{}\">\n", escape(&node.uid)));
                if let Some(text) = node.content.as_deref().filter(|t| !t.is_empty()) {
                    out.push_str(&format!("<p>{}</p>\n", text_html(text)));
                }
                out.push_str("<figcaption>");
                captions(&mut out, before.iter().chain(&after).copied());
                out.push_str("</figcaption>\n</figure>\n");
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn element(out: &mut String, tag: &str, node: &ContentNode, text: &str) {
    out.push_str(&format!(
        "<{tag} data-uid=\"{}\">{}</{tag}>\n",
        escape(&node.uid),
        text_html(text)
    ));
}

/// Captions, each in a `<span>` with its uid, separated by line breaks.
fn captions<'a>(out: &mut String, nodes: impl Iterator<Item = &'a ContentNode>) {
    for (i, node) in nodes.enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        out.push_str(&format!(
            "<span data-uid=\"{}\">{}</span>",
            escape(&node.uid),
            text_html(node.content.as_deref().unwrap_or(""))
        ));
    }
}

/// One `<table>`: `<caption>` from its captions, header rows in `<thead>`, a cell wherever one
/// starts (with its spans), an empty `<td>` where none covers the position.
fn table(
    out: &mut String,
    node: &ContentNode,
    layout: &Layout,
    before: &[&ContentNode],
    after: &[&ContentNode],
) {
    let header = layout.header_rows();
    out.push_str(&format!("<table data-uid=\"{}\">\n", escape(&node.uid)));
    if !before.is_empty() || !after.is_empty() {
        out.push_str("<caption>");
        captions(out, before.iter().chain(after).copied());
        out.push_str("</caption>\n");
    }
    for (r, row) in layout.slots.iter().enumerate() {
        if r == 0 && header > 0 {
            out.push_str("<thead>\n");
        }
        if r == header {
            out.push_str("<tbody>\n");
        }
        out.push_str("<tr>");
        for slot in row {
            match slot {
                Slot::Empty => out.push_str("<td></td>"),
                Slot::Covered => {}
                Slot::Start(cell, (rows, cols)) => {
                    let tag = if cell.header { "th" } else { "td" };
                    out.push('<');
                    out.push_str(tag);
                    if *rows > 1 {
                        out.push_str(&format!(" rowspan=\"{rows}\""));
                    }
                    if *cols > 1 {
                        out.push_str(&format!(" colspan=\"{cols}\""));
                    }
                    out.push_str(&format!(" data-uid=\"{}\">", escape(&cell.node.uid)));
                    out.push_str(&escape(cell.text));
                    out.push_str(&format!("</{tag}>"));
                }
            }
        }
        out.push_str("</tr>\n");
        if r + 1 == header {
            out.push_str("</thead>\n");
        }
    }
    if header < layout.slots.len() {
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n");
}

/// Text as HTML: escaped, line breaks kept as `<br>`.
fn text_html(text: &str) -> String {
    escape(text).replace('\n', "<br>\n")
}

/// `&`, `<`, `>`, `"` and `'` as entities: safe in HTML text and in quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
