//! What a review page draws: every node that has a box, in reading order.

use std::collections::HashSet;

use extract_model::{AnnotationKind, NodeType, OutputDocument};
use serde::Serialize;

/// A node with its boxes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Located {
    /// 1-based position in reading order among the numbered items (table cells are not
    /// numbered: they are drawn as their table's grid).
    pub number: usize,
    /// The node's uid.
    pub uid: String,
    /// The node's type, lower case.
    #[serde(rename = "type")]
    pub kind: String,
    /// The node's text (empty for tables and figures).
    pub text: String,
    /// A table cell.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cell: bool,
    /// A table cell flagged `is_column_header`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub header: bool,
    /// Its boxes: 0-based page number and `[x, y, width, height]`, cut to the page.
    pub boxes: Vec<(i64, [f64; 4])>,
}

/// Every node of `document` with at least one box on a page, in reading order.
pub fn located(document: &OutputDocument) -> Vec<Located> {
    let headers: HashSet<&str> = document
        .annotations
        .iter()
        .filter(|a| matches!(a.kind(), AnnotationKind::TableCell(c) if c.is_column_header == Some(true)))
        .flat_map(|a| a.content_uids.as_deref().unwrap_or_default())
        .map(String::as_str)
        .collect();
    let mut number = 0;
    let mut out = Vec::new();
    for node in document.nodes() {
        if node.r#type == NodeType::Document {
            continue;
        }
        let boxes: Vec<(i64, [f64; 4])> = extract_convert::regions(node)
            .into_iter()
            .map(|r| (r.page - 1, r.bbox))
            .collect();
        if boxes.is_empty() {
            continue;
        }
        let cell = matches!(
            node.r#type,
            NodeType::TableCell | NodeType::FigureExtractedTableCell
        );
        if !cell {
            number += 1;
        }
        out.push(Located {
            number: if cell { 0 } else { number },
            uid: node.uid.clone(),
            kind: node.r#type.as_str().to_lowercase(),
            text: node.content.clone().unwrap_or_default(),
            cell,
            header: cell && headers.contains(node.uid.as_str()),
            boxes,
        });
    }
    out
}

/// The colour class of a node type: what the review page colours it by (`docs/review.md`).
pub fn colour_class(kind: &str) -> &'static str {
    match kind {
        "title" | "h1" | "h2" | "h3" | "h4" | "h5" => "heading",
        "text" | "paragraph" => "text",
        "table" | "figure_extracted_table" => "table",
        "table_cell" | "figure_extracted_table_cell" => "cell",
        "table_of_contents" | "table_of_contents_title" => "toc",
        "figure" | "image" | "bar_chart" | "line_plot" | "pie_chart" | "scatter_plot" => "figure",
        "page_header" | "page_footer" | "page_footnote" => "furniture",
        k if k.ends_with("_title")
            || k.ends_with("_caption")
            || k.ends_with("_footer")
            || k.ends_with("_label") =>
        {
            "caption"
        }
        _ => "other",
    }
}
