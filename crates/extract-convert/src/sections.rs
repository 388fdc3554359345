//! Sections: the items grouped under their top-level headings.

use extract_model::OutputDocument;

use crate::items::{Item, items};

/// The items split into sections at every `title` or `h1` item (kenverters'
/// `extract_organized_sections`).
pub fn sections(document: &OutputDocument) -> Vec<Vec<Item>> {
    let mut sections: Vec<Vec<Item>> = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    for item in items(document, false) {
        if matches!(item.category.as_str(), "title" | "h1") && !current.is_empty() {
            sections.push(std::mem::take(&mut current));
        }
        current.push(item);
    }
    if !current.is_empty() {
        sections.push(current);
    }
    sections
}
