//! What the property tests share: the fixtures, and generated documents.

#![allow(dead_code)]

use std::path::PathBuf;

use extract_model::OutputDocument;
use proptest::prelude::*;
use serde_json::{Value, json};

/// A folder of the crate (relative to its manifest).
pub fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// Every `.json` file of a folder, by file name, in name order, with its bytes.
pub fn json_files(dir: PathBuf) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("reads"))
        })
        .collect()
}

/// Every fixture, by file name.
pub fn fixtures() -> Vec<(String, OutputDocument)> {
    json_files(dir("../../fixtures/extract-output"))
        .into_iter()
        .map(|(name, bytes)| {
            let document = OutputDocument::from_json(&bytes).expect("parses");
            (name, document)
        })
        .collect()
}

/// A generated document: headings, paragraphs of random words and sentences (non-ASCII, long
/// words, line breaks), tables with header rows and spans, captions.
pub fn document_strategy() -> impl Strategy<Value = Value> {
    let word = prop_oneof![
        4 => "[a-z]{1,9}",
        1 => "[A-Z][a-z]{0,6}[.!?]",
        1 => "[0-9]{1,7}",
        1 => "[a-zé漢字ü]{1,4}",
        1 => "[a-z]{30,200}",
        1 => Just("\n".to_string()),
        1 => Just("|".to_string()),
    ];
    let text = prop::collection::vec(word, 1..120).prop_map(|w| w.join(" "));
    let table = (
        1usize..6,
        1usize..5,
        0usize..3,
        prop::collection::vec("[a-z0-9 ]{0,40}", 30),
    )
        .prop_map(|(rows, cols, header, texts)| (rows, cols, header.min(rows), texts));
    let block = prop_oneof![
        2 => (1usize..6, "[A-Z][a-z ]{0,30}").prop_map(|(level, t)| json!({"h": level, "t": t})),
        5 => text.prop_map(|t| json!({"p": t})),
        2 => table.prop_map(|(rows, cols, header, texts)| json!({"table": [rows, cols, header, texts]})),
    ];
    prop::collection::vec(block, 1..25).prop_map(build)
}

fn build(blocks: Vec<Value>) -> Value {
    let mut children = Vec::new();
    let mut annotations = Vec::new();
    let mut uid = 1;
    let mut next = || {
        uid += 1;
        uid.to_string()
    };
    let loc = |page: usize| json!([{"x": 0.1, "y": 0.2, "width": 0.5, "height": 0.1, "page_number": page}]);
    for (i, block) in blocks.iter().enumerate() {
        let page = i / 4;
        if let Some(level) = block.get("h") {
            let kind = format!("H{}", level.as_u64().unwrap_or(1));
            children.push(json!({"uid": next(), "type": kind, "content": block["t"], "children": [], "locations": loc(page)}));
        } else if let Some(text) = block.get("p") {
            children.push(json!({"uid": next(), "type": "PARAGRAPH", "content": text, "children": [], "locations": loc(page)}));
        } else if let Some(spec) = block.get("table") {
            let rows = spec[0].as_u64().unwrap_or(1) as usize;
            let cols = spec[1].as_u64().unwrap_or(1) as usize;
            let header = spec[2].as_u64().unwrap_or(0) as usize;
            let texts = spec[3].as_array().cloned().unwrap_or_default();
            let title = next();
            children.push(json!({"uid": title, "type": "TABLE_TITLE", "content": format!("Table {i}"), "children": [], "locations": loc(page)}));
            let table_uid = next();
            let mut cells = Vec::new();
            for r in 0..rows {
                let mut c = 0;
                while c < cols {
                    // The last column of the first row spans two columns when there is room.
                    let span = if r == 0 && c + 2 == cols { 2 } else { 1 };
                    let cell = next();
                    let text = texts[(r * cols + c) % texts.len()].clone();
                    cells.push(json!({"uid": cell, "type": "TABLE_CELL", "content": text, "children": [], "locations": loc(page)}));
                    annotations.push(json!({"type": "table_structure", "content_uids": [cell],
                        "data": {"index": [r, c], "span": [1, span], "is_column_header": r < header}}));
                    c += span;
                }
            }
            children.push(json!({"uid": table_uid, "type": "TABLE", "content": null, "children": cells, "locations": loc(page)}));
            annotations.push(
                json!({"type": "relation", "data": {"relation_type": "support",
                "source_content_uid": title, "target_content_uid": table_uid}}),
            );
        }
    }
    json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": children},
           "annotations": annotations})
}
