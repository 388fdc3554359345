//! Rendering extracted pages as the service's output document, in each output format.

use serde_json::{Map, Value, json};

use crate::pdf::{Block, Page};

/// The three output formats, as the service names them.
pub(crate) const OUTPUT_FORMATS: &[&str] = &[
    "structured_document",
    "structured_document_with_locations",
    "structured_document_with_char_offsets",
];

/// The document types the service accepts.
pub(crate) const DOCUMENT_TYPES: &[&str] = &["hierarchical", "hierarchical_v2", "general"];

/// The bare output document `{content_tree, annotations[, pdf_pages]}` for the selected pages,
/// each given with the page number to print (0-based).
pub(crate) fn render(pages: &[(u32, &Page)], document_type: &str, format: &str) -> Value {
    let locations = format != "structured_document";
    let char_offsets = format == "structured_document_with_char_offsets";
    let mut uids = 0u64;
    let mut node = |ty: &str, block: Option<(&Block, u32)>| -> Map<String, Value> {
        let mut n = Map::new();
        n.insert("uid".into(), json!(uids.to_string()));
        uids += 1;
        n.insert("type".into(), json!(ty));
        n.insert(
            "content".into(),
            block.map_or(Value::Null, |(b, _)| json!(b.text)),
        );
        let location = block.map(|(b, page)| {
            json!({"x": round(b.x), "y": round(b.y), "width": round(b.width), "height": round(b.height), "page_number": page})
        });
        if locations {
            n.insert(
                "locations".into(),
                location.clone().map_or(Value::Null, |l| json!([l])),
            );
        }
        if char_offsets {
            let data = block.zip(location).map_or(Value::Null, |((b, _), l)| {
                let len = b.text.chars().count().max(1) as f64;
                let offsets: Vec<f64> = (0..b.text.chars().count())
                    .map(|i| round(i as f64 / len))
                    .collect();
                json!({"texts": [b.text], "text_locations": [l], "character_offsets": [offsets]})
            });
            n.insert("text_node_data".into(), data);
        }
        n.insert("children".into(), json!([]));
        n
    };

    // A stack of open nodes with their heading level; the root has level 0.
    let mut stack: Vec<(u8, Map<String, Value>)> = vec![(0, node("DOCUMENT", None))];
    let close = |stack: &mut Vec<(u8, Map<String, Value>)>| {
        if let Some((_, done)) = stack.pop()
            && let Some((_, parent)) = stack.last_mut()
            && let Some(Value::Array(children)) = parent.get_mut("children")
        {
            children.push(Value::Object(done));
        }
    };
    for (page_number, page) in pages {
        for block in &page.blocks {
            let placed = Some((block, *page_number));
            match (document_type, block.heading) {
                ("general", heading) => {
                    let n = node(if heading.is_some() { "TITLE" } else { "TEXT" }, placed);
                    stack.push((u8::MAX, n));
                    close(&mut stack);
                }
                (_, Some(level)) => {
                    let level = if document_type == "hierarchical" {
                        level.min(2)
                    } else {
                        level.min(5)
                    };
                    while stack.len() > 1 && stack.last().is_some_and(|(l, _)| *l >= level) {
                        close(&mut stack);
                    }
                    stack.push((level, node(&format!("H{level}"), placed)));
                }
                (_, None) => {
                    stack.push((u8::MAX, node("PARAGRAPH", placed)));
                    close(&mut stack);
                }
            }
        }
    }
    while stack.len() > 1 {
        close(&mut stack);
    }
    let root = stack
        .pop()
        .map_or(Value::Null, |(_, root)| Value::Object(root));
    let mut document = json!({"content_tree": root, "annotations": []});
    if char_offsets {
        document["pdf_pages"] = pages
            .iter()
            .map(|(_, p)| json!({"height": p.height, "width": p.width, "required_ccw_rotation": 0}))
            .collect();
    }
    document
}

/// Five decimals, as the service writes fractions.
fn round(v: f64) -> f64 {
    (v * 1e5).round() / 1e5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        let block = |heading, text: &str| Block {
            heading,
            text: text.into(),
            x: 0.1,
            y: 0.2,
            width: 0.5,
            height: 0.05,
        };
        Page {
            width: 612.0,
            height: 792.0,
            blocks: vec![
                block(None, "Preface"),
                block(Some(1), "Title"),
                block(Some(2), "Part"),
                block(None, "Body"),
                block(Some(1), "Next"),
            ],
        }
    }

    #[test]
    fn hierarchical_v2_nests_paragraphs_under_headings() {
        let p = page();
        let doc = render(
            &[(0, &p)],
            "hierarchical_v2",
            "structured_document_with_locations",
        );
        let root = &doc["content_tree"];
        assert_eq!(root["type"], "DOCUMENT");
        assert_eq!(root["uid"], "0");
        assert_eq!(root["locations"], Value::Null);
        let kids: Vec<&str> = root["children"]
            .as_array()
            .expect("children")
            .iter()
            .map(|c| c["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(kids, ["PARAGRAPH", "H1", "H1"]);
        let h2 = &root["children"][1]["children"][0];
        assert_eq!(
            (h2["type"].as_str(), h2["content"].as_str()),
            (Some("H2"), Some("Part"))
        );
        assert_eq!(h2["children"][0]["content"], "Body");
        assert_eq!(h2["children"][0]["uid"], "4", "uids follow reading order");
        assert_eq!(h2["locations"][0]["page_number"], 0);
        assert_eq!(doc["annotations"], json!([]));
    }

    #[test]
    fn general_is_flat_and_plain_format_has_no_locations() {
        let p = page();
        let doc = render(&[(3, &p)], "general", "structured_document");
        let kids = doc["content_tree"]["children"]
            .as_array()
            .expect("children");
        assert_eq!(kids.len(), 5);
        assert_eq!(kids[1]["type"], "TITLE");
        assert!(kids.iter().all(|k| k.get("locations").is_none()));
        assert!(doc.get("pdf_pages").is_none());
    }

    #[test]
    fn char_offsets_format_adds_text_node_data_and_pdf_pages() {
        let p = page();
        let doc = render(
            &[(0, &p)],
            "hierarchical",
            "structured_document_with_char_offsets",
        );
        assert_eq!(doc["pdf_pages"][0]["width"], 612.0);
        let first = &doc["content_tree"]["children"][0];
        assert_eq!(first["text_node_data"]["texts"][0], "Preface");
        assert_eq!(
            first["text_node_data"]["character_offsets"][0]
                .as_array()
                .map(Vec::len),
            Some(7)
        );
        assert_eq!(doc["content_tree"]["text_node_data"], Value::Null);
    }
}
