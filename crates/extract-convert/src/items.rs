//! The items list: text, titles and tables in reading order.

use extract_model::{ContentNode, Location, NodeType, OutputDocument};
use serde::Serialize;

use crate::tables::{Structure, grid_to_markdown};

/// One item of the document, as kenverters' `convert_output_to_items_list_and_relations` gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Item {
    /// The uid of the content node.
    pub content_id: String,
    /// The node type, lower case (`title`, `h1`, `paragraph`, `table`…).
    pub category: String,
    /// The text; for tables, their Markdown.
    pub text: String,
    /// A TABLE's cells as a grid (merged cells copied into every cell they cover, trimmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Vec<Vec<String>>>,
    /// A FIGURE_EXTRACTED_TABLE's values as a grid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figure_extracted_table: Option<Vec<Vec<String>>>,
    /// Where the item is, when asked for: the node's locations (`null` if it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locations: Option<Option<Vec<Location>>>,
}

/// A relation between two items (of the kinds kenverters reports: `support`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Relation {
    /// The relation type.
    pub relation_type: String,
    /// The uid it goes from.
    pub source_content_id: String,
    /// The uid it goes to.
    pub target_content_id: String,
}

/// The items of a document in reading order: every node with text, and every table as one item
/// (its cells are not items of their own). With `with_locations`, each item carries its
/// locations. Node types this version does not know become items like text, instead of failing.
pub fn items(document: &OutputDocument, with_locations: bool) -> Vec<Item> {
    let structure = Structure::of(document);
    let mut items = Vec::new();
    collect(
        &document.content_tree,
        &structure,
        with_locations,
        &mut items,
    );
    items
}

fn collect(
    node: &ContentNode,
    structure: &Structure<'_>,
    with_locations: bool,
    items: &mut Vec<Item>,
) {
    if let Some(mut item) = item(node, structure) {
        if with_locations {
            item.locations = Some(node.locations.clone().flatten());
        }
        items.push(item);
    }
    for child in &node.children {
        collect(child, structure, with_locations, items);
    }
}

fn item(node: &ContentNode, structure: &Structure<'_>) -> Option<Item> {
    let base = |text: String| Item {
        content_id: node.uid.clone(),
        category: node.r#type.as_str().to_lowercase(),
        text,
        table: None,
        figure_extracted_table: None,
        locations: None,
    };
    match &node.r#type {
        NodeType::Document | NodeType::TableCell | NodeType::FigureExtractedTableCell => None,
        NodeType::Table | NodeType::TableOfContents => {
            let grid = structure.item_grid(node)?;
            Some(Item {
                table: Some(grid.clone()),
                ..base(grid_to_markdown(&grid))
            })
        }
        NodeType::FigureExtractedTable => {
            let grid = structure.figure_grid(node);
            if grid.is_empty() {
                return None;
            }
            Some(Item {
                figure_extracted_table: Some(grid.clone()),
                ..base(grid_to_markdown(&grid))
            })
        }
        _ => Some(base(node.content.clone().unwrap_or_default())),
    }
}

/// The `support` relations between items.
pub fn relations(document: &OutputDocument) -> Vec<Relation> {
    document
        .annotations
        .iter()
        .filter_map(|a| match a.kind() {
            extract_model::AnnotationKind::Relation(r) if r.relation_type == "support" => {
                Some(Relation {
                    relation_type: r.relation_type,
                    source_content_id: r.source_content_uid,
                    target_content_id: r.target_content_uid,
                })
            }
            _ => None,
        })
        .collect()
}
