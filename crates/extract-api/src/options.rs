//! What to ask of an extraction, with the service's defaults.

use extract_model::generated::{DocumentType, OutputFormat, SubmitForm, UploadUrlForm};

/// The options of an extraction request.
///
/// ```
/// use extract_api::{DocumentType, ExtractionOptions, OutputFormat};
/// let options = ExtractionOptions::new()
///     .document_type(DocumentType::General)
///     .ocr(true)
///     .pages("1-3,7")
///     .output_format(OutputFormat::StructuredDocument);
/// assert_eq!(options.output_format, Some(OutputFormat::StructuredDocument));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractionOptions {
    /// Default `hierarchical_v2`.
    pub document_type: DocumentType,
    /// OCR for scanned documents; default false.
    pub ocr: bool,
    /// Default false.
    pub enhanced_table_extraction: bool,
    /// Figure extraction.
    pub figure_extraction: Option<bool>,
    /// Include images (direct submission only).
    pub include_images: Option<bool>,
    /// Include relations (direct submission only).
    pub include_relations: Option<bool>,
    /// Your own id for the document.
    pub document_id: Option<String>,
    /// `low`, or anything else for high.
    pub priority: Option<String>,
    /// 1-based page selection such as `1-5,7`.
    pub pages: Option<String>,
    /// Whole-PDF page numbers in the output (direct submission only).
    pub return_absolute_pdf_page_numbers: Option<bool>,
    /// Set: the pre-signed retrieval mode (poll `download-url`). Unset: inline.
    pub output_format: Option<OutputFormat>,
}

impl ExtractionOptions {
    /// The service's defaults: `hierarchical_v2`, no OCR, no enhanced tables, inline retrieval.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the document type.
    pub fn document_type(mut self, value: DocumentType) -> Self {
        self.document_type = value;
        self
    }

    /// Turns OCR on or off.
    pub fn ocr(mut self, value: bool) -> Self {
        self.ocr = value;
        self
    }

    /// Turns enhanced table extraction on or off.
    pub fn enhanced_table_extraction(mut self, value: bool) -> Self {
        self.enhanced_table_extraction = value;
        self
    }

    /// Selects pages, 1-based, such as `1-5,7`.
    pub fn pages(mut self, value: impl Into<String>) -> Self {
        self.pages = Some(value.into());
        self
    }

    /// Chooses the output format, and with it the pre-signed retrieval mode.
    pub fn output_format(mut self, value: OutputFormat) -> Self {
        self.output_format = Some(value);
        self
    }

    pub(crate) fn submit_form(&self) -> SubmitForm {
        SubmitForm {
            document_type: self.document_type,
            ocr: self.ocr,
            enhanced_table_extraction: self.enhanced_table_extraction,
            figure_extraction: self.figure_extraction,
            include_images: self.include_images,
            include_relations: self.include_relations,
            document_id: self.document_id.clone(),
            priority: self.priority.clone(),
            pages: self.pages.clone(),
            return_absolute_pdf_page_numbers: self.return_absolute_pdf_page_numbers,
            output_format: self.output_format,
        }
    }

    /// The upload-url form; the pre-signed path always has an output format (default: with locations).
    pub(crate) fn upload_url_form(&self) -> UploadUrlForm {
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

    #[test]
    fn forms_carry_booleans_as_words_and_leave_unset_fields_out() {
        let fields = ExtractionOptions::new()
            .pages("2")
            .submit_form()
            .to_fields();
        assert_eq!(
            fields,
            [
                ("document_type", "hierarchical_v2".to_string()),
                ("ocr", "false".into()),
                ("enhanced_table_extraction", "false".into()),
                ("pages", "2".into()),
            ]
        );
        let upload = ExtractionOptions::new()
            .ocr(true)
            .upload_url_form()
            .to_fields();
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
