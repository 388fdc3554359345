//! Plain text and Markdown, whole or per page.

use std::collections::BTreeMap;

use extract_model::OutputDocument;

use crate::items::{Item, items};

/// The whole text: every non-empty item on its own line, tables as Markdown.
pub fn to_text(document: &OutputDocument) -> String {
    items(document, false)
        .iter()
        .filter(|i| !i.text.is_empty())
        .map(|i| i.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Markdown: titles and H1 as `#`, H2 as `##`, H3 and element titles as `###`, H4 and H5 as
/// `####` and `#####`, tables as `|` rows.
pub fn to_markdown(document: &OutputDocument) -> String {
    items(document, false)
        .iter()
        .filter(|i| !i.text.is_empty())
        .map(markdown_line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of each page (by the 0-based page number of each item's locations), in page order.
/// Items without locations count as page 0.
pub fn to_text_by_page(document: &OutputDocument) -> Vec<String> {
    by_page(document, |item| item.text.clone())
}

/// The Markdown of each page, as [`to_text_by_page`] splits them.
pub fn to_markdown_by_page(document: &OutputDocument) -> Vec<String> {
    by_page(document, markdown_line)
}

/// An item goes on the page of each of its locations, as kenverters does. A hostile item with
/// a long text and thousands of locations could multiply its text without bound; copies past
/// a budget proportional to the document's text go on the item's first page only.
fn by_page(document: &OutputDocument, line: impl Fn(&Item) -> String) -> Vec<String> {
    let lines: Vec<(String, Option<Vec<i64>>)> = items(document, true)
        .into_iter()
        .map(|item| {
            let text = line(&item);
            let pages = item
                .locations
                .flatten()
                .map(|l| l.iter().map(|l| l.page_number).collect());
            (text, pages)
        })
        .collect();
    let mut budget = (1 << 20) + 8 * lines.iter().map(|(t, _)| t.len()).sum::<usize>();
    let mut pages: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (text, on) in &lines {
        match on.as_deref() {
            Some([first, rest @ ..]) => {
                pages.entry(*first).or_default().push(text);
                for page in rest {
                    if text.len() > budget {
                        break;
                    }
                    budget -= text.len();
                    pages.entry(*page).or_default().push(text);
                }
            }
            Some([]) => {}
            None => pages.entry(0).or_default().push(text),
        }
    }
    pages.into_values().map(|lines| lines.join("\n")).collect()
}

fn markdown_line(item: &Item) -> String {
    format!("{}{}", heading_prefix(&item.category), item.text)
}

/// The `#` prefix of an item's Markdown line, by its lower-case category.
pub(crate) fn heading_prefix(category: &str) -> &'static str {
    match category {
        "title" | "h1" => "# ",
        "h2" => "## ",
        "h3" | "table_title" | "figure_title" | "image_title" | "table_of_contents_title" => "### ",
        "h4" => "#### ",
        "h5" => "##### ",
        _ => "",
    }
}
