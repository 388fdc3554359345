//! The output document, with the helpers the generated types leave to hand-written code.

use crate::generated::{
    Annotation, AnnotationType, ContentNode, FigureTableCellData, OutputDocument, RelationData,
    TableCellData,
};

/// An annotation's `data`, typed by its `type`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AnnotationKind {
    /// `table_structure`: where a TABLE_CELL sits in its table's grid.
    TableCell(TableCellData),
    /// `figure_extracted_table_structure`: a cell of a table read from a figure, with its text.
    FigureTableCell(FigureTableCellData),
    /// `relation`: a link between two nodes.
    Relation(RelationData),
    /// A type this version does not know, or data that does not fit its type: kept as it came.
    Other,
}

impl Annotation {
    /// The annotation's data, typed.
    pub fn kind(&self) -> AnnotationKind {
        let data = serde_json::Value::Object(self.data.clone());
        let typed = match self.r#type {
            AnnotationType::TableStructure => {
                serde_json::from_value(data).map(AnnotationKind::TableCell)
            }
            AnnotationType::FigureExtractedTableStructure => {
                serde_json::from_value(data).map(AnnotationKind::FigureTableCell)
            }
            AnnotationType::Relation => serde_json::from_value(data).map(AnnotationKind::Relation),
            _ => return AnnotationKind::Other,
        };
        typed.unwrap_or(AnnotationKind::Other)
    }
}

impl OutputDocument {
    /// Reads an output document from JSON: the bare document a download gives, or the
    /// `{status, output, …}` answer of the status endpoint.
    pub fn from_json(json: &[u8]) -> Result<OutputDocument, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Wrapped {
            output: OutputDocument,
        }
        // The bare document first, in one typed pass; a status answer only if that fails.
        serde_json::from_slice::<OutputDocument>(json).or_else(|bare| {
            serde_json::from_slice::<Wrapped>(json)
                .map(|w| w.output)
                .map_err(|_| bare)
        })
    }

    /// Every node of the content tree, depth first, in reading order.
    pub fn nodes(&self) -> impl Iterator<Item = &ContentNode> {
        let mut stack = vec![&self.content_tree];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            stack.extend(node.children.iter().rev());
            Some(node)
        })
    }
}
