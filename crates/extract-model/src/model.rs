//! The output document, with the helpers the generated types leave to hand-written code.

use crate::generated::{
    Annotation, AnnotationType, ContentNode, FigureTableCellData, OutputDocument, OutputFormat,
    RelationData, SubmitForm, TableCellData, UploadUrlForm,
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
    /// The annotation's data, typed. Read from the map in place (no copy of it): converters ask
    /// once per annotation, and a table's cells are most of a document's annotations.
    pub fn kind(&self) -> AnnotationKind {
        use serde::Deserialize;
        let data = &self.data;
        let typed = match self.r#type {
            AnnotationType::TableStructure => {
                Deserialize::deserialize(data).map(AnnotationKind::TableCell)
            }
            AnnotationType::FigureExtractedTableStructure => {
                Deserialize::deserialize(data).map(AnnotationKind::FigureTableCell)
            }
            AnnotationType::Relation => {
                Deserialize::deserialize(data).map(AnnotationKind::Relation)
            }
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

/// The options of an extraction request are the fields of a direct submission; `extract-api`
/// calls them `ExtractionOptions`. The generated code has a builder setter for every field.
///
/// ```
/// use extract_model::generated::SubmitForm;
/// use extract_model::{DocumentType, OutputFormat};
/// let options = SubmitForm::new()
///     .document_type(DocumentType::General)
///     .ocr(true)
///     .pages("1-3,7")
///     .output_format(OutputFormat::StructuredDocument);
/// assert_eq!(options.output_format, Some(OutputFormat::StructuredDocument));
/// ```
impl SubmitForm {
    /// The service's defaults: `hierarchical_v2`, no OCR, no enhanced tables, inline retrieval.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same request on the pre-signed path, which always has an output format (by default
    /// with locations) and takes no `include_images`, `include_relations` or page numbering.
    pub fn upload_url_form(&self) -> UploadUrlForm {
        UploadUrlForm {
            output_format: self
                .output_format
                .unwrap_or(OutputFormat::StructuredDocumentWithLocations),
            document_type: self.document_type,
            ocr: self.ocr,
            enhanced_table_extraction: self.enhanced_table_extraction,
            figure_extraction: self.figure_extraction,
            document_id: self.document_id.clone(),
            priority: self.priority.clone(),
            pages: self.pages.clone(),
            num_pages_to_extract: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::DocumentType;

    #[test]
    fn every_submission_field_has_a_builder_setter() {
        let fields = SubmitForm::new()
            .document_type(DocumentType::General)
            .ocr(true)
            .enhanced_table_extraction(true)
            .figure_extraction(true)
            .include_images(false)
            .include_relations(true)
            .document_id("mine-1")
            .priority("low")
            .pages("1-2")
            .return_absolute_pdf_page_numbers(true)
            .output_format(OutputFormat::StructuredDocument)
            .to_fields();
        let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "document_type",
                "ocr",
                "enhanced_table_extraction",
                "figure_extraction",
                "include_images",
                "include_relations",
                "document_id",
                "priority",
                "pages",
                "return_absolute_pdf_page_numbers",
                "output_format"
            ]
        );
        assert!(fields.contains(&("include_images", "false".to_string())));
    }

    #[test]
    fn forms_carry_booleans_as_words_and_leave_unset_fields_out() {
        let fields = SubmitForm::new().pages("2").to_fields();
        assert_eq!(
            fields,
            [
                ("document_type", "hierarchical_v2".to_string()),
                ("ocr", "false".into()),
                ("enhanced_table_extraction", "false".into()),
                ("pages", "2".into()),
            ]
        );
        let upload = SubmitForm::new().ocr(true).upload_url_form().to_fields();
        assert_eq!(
            upload[0],
            (
                "output_format",
                "structured_document_with_locations".to_string()
            )
        );
        assert!(upload.contains(&("ocr", "true".to_string())));
    }
}
