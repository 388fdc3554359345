//! Page-split jobs: a long document sent as parallel jobs over page ranges (with absolute page
//! numbers), and their outputs merged back into the one document a single job would give.
//!
//! Merging is more than concatenation. Each part's tree starts afresh at its root, so text at
//! the top of a part that continues a section of the part before sits at the root; it is put
//! back under the section still open (the headings on the merged tree's right edge), as the
//! service nests it in a single job. Uids are renumbered in document order (root `"0"`), and
//! every reference to one (an annotation's `content_uids`, a relation's source and target) is
//! rewritten; `pdf_pages` are concatenated.
//!
//! The walks recurse: parts are parsed output documents, and serde_json's recursion limit (128)
//! bounds how deep a tree from outside can be.

use std::collections::HashMap;

use extract_api::{ContentNode, OutputDocument};
use serde_json::Value;

/// Consecutive 1-based page ranges of at most `size` pages covering `1..=pages`.
pub fn page_ranges(pages: u32, size: u32) -> Vec<(u32, u32)> {
    let size = size.max(1);
    let mut ranges = Vec::new();
    let mut first = 1u32;
    while first <= pages {
        let last = first.saturating_add(size - 1).min(pages);
        ranges.push((first, last));
        match last.checked_add(1) {
            Some(next) => first = next,
            None => break,
        }
    }
    ranges
}

/// The heading level of a node type (`H1`…`H5`), for re-nesting; none for other types.
fn heading_level(node: &ContentNode) -> Option<u8> {
    let level = node.r#type.as_str().strip_prefix('H')?.parse::<u8>().ok()?;
    (1..=9).contains(&level).then_some(level)
}

/// Merges the outputs of a document's parts, in page order, into one document (none from no
/// parts).
pub fn merge(parts: Vec<OutputDocument>) -> Option<OutputDocument> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    // Uids are made unique across parts first (`p<k>:<uid>`), renumbered at the end.
    prefix_uids(&mut merged.content_tree, 0);
    prefix_annotation_uids(&mut merged, 0);
    for (k, mut part) in parts.enumerate() {
        let k = k + 1;
        prefix_uids(&mut part.content_tree, k);
        prefix_annotation_uids(&mut part, k);
        for child in std::mem::take(&mut part.content_tree.children) {
            attach(&mut merged.content_tree, child);
        }
        merged.annotations.append(&mut part.annotations);
        match (&mut merged.pdf_pages, part.pdf_pages) {
            (Some(pages), Some(mut more)) => pages.append(&mut more),
            (None, Some(more)) => merged.pdf_pages = Some(more),
            _ => {}
        }
    }
    let mut renumbered = HashMap::new();
    let mut next = 0u64;
    renumber(&mut merged.content_tree, &mut next, &mut renumbered);
    for annotation in &mut merged.annotations {
        if let Some(uids) = &mut annotation.content_uids {
            for uid in uids {
                if let Some(new) = renumbered.get(uid.as_str()) {
                    *uid = new.clone();
                }
            }
        }
        for field in ["source_content_uid", "target_content_uid"] {
            if let Some(Value::String(uid)) = annotation.data.get_mut(field)
                && let Some(new) = renumbered.get(uid.as_str())
            {
                *uid = new.clone();
            }
        }
    }
    Some(merged)
}

fn prefix_uids(node: &mut ContentNode, part: usize) {
    node.uid = format!("p{part}:{}", node.uid);
    for child in &mut node.children {
        prefix_uids(child, part);
    }
}

fn prefix_annotation_uids(document: &mut OutputDocument, part: usize) {
    for annotation in &mut document.annotations {
        if let Some(uids) = &mut annotation.content_uids {
            for uid in uids {
                *uid = format!("p{part}:{uid}");
            }
        }
        for field in ["source_content_uid", "target_content_uid"] {
            if let Some(Value::String(uid)) = annotation.data.get_mut(field) {
                *uid = format!("p{part}:{uid}");
            }
        }
    }
}

/// Appends `node` (a top-level node of a later part) where a single job would have put it:
/// a heading under the nearest open heading of a higher level (or the root); anything else
/// under the deepest open heading.
fn attach(parent: &mut ContentNode, node: ContentNode) {
    let level = heading_level(&node);
    let descend = parent.children.last().is_some_and(|last| {
        heading_level(last).is_some_and(|open| level.is_none_or(|new| open < new))
    });
    match parent.children.last_mut() {
        Some(last) if descend => attach(last, node),
        _ => parent.children.push(node),
    }
}

fn renumber(node: &mut ContentNode, next: &mut u64, map: &mut HashMap<String, String>) {
    let new = next.to_string();
    *next += 1;
    map.insert(std::mem::replace(&mut node.uid, new.clone()), new);
    for child in &mut node.children {
        renumber(child, next, map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_page_once() {
        assert_eq!(page_ranges(40, 15), [(1, 15), (16, 30), (31, 40)]);
        assert_eq!(page_ranges(10, 10), [(1, 10)]);
        assert_eq!(page_ranges(3, 0), [(1, 1), (2, 2), (3, 3)]);
        assert!(page_ranges(0, 5).is_empty());
        let ranges = page_ranges(u32::MAX, u32::MAX / 2 + 1);
        assert_eq!(ranges.last().map(|r| r.1), Some(u32::MAX));
    }

    fn doc(json: &str) -> OutputDocument {
        OutputDocument::from_json(json.as_bytes()).expect("a document")
    }

    #[test]
    fn text_continuing_a_section_goes_back_under_it_and_references_follow() {
        let first = doc(
            r#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
                {"uid": "1", "type": "H1", "content": "Intro", "children": [
                    {"uid": "2", "type": "H2", "content": "Detail", "children": [
                        {"uid": "3", "type": "PARAGRAPH", "content": "a", "children": []}]}]}]},
              "annotations": [{"type": "relation", "data": {"relation_type": "x", "source_content_uid": "3", "target_content_uid": "1"}}]}"#,
        );
        let second = doc(
            r#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
                {"uid": "1", "type": "PARAGRAPH", "content": "b", "children": []},
                {"uid": "2", "type": "H2", "content": "More", "children": [
                    {"uid": "3", "type": "TABLE", "content": null, "children": [
                        {"uid": "4", "type": "TABLE_CELL", "content": "c", "children": []}]}]},
                {"uid": "5", "type": "H1", "content": "Next", "children": []}]},
              "annotations": [{"type": "table_structure", "content_uids": ["4"], "data": {"index": [0, 0], "span": [1, 1]}}]}"#,
        );
        let merged = merge(vec![first, second]).expect("two parts");
        let tree = serde_json::to_value(&merged.content_tree).expect("json");
        let h1 = &tree["children"][0];
        assert_eq!(h1["content"], "Intro");
        assert_eq!(
            h1["children"][0]["children"][1]["content"], "b",
            "b continues Detail"
        );
        assert_eq!(
            h1["children"][1]["content"], "More",
            "an H2 closes the H2, not the H1"
        );
        assert_eq!(tree["children"][1]["content"], "Next");
        // Uids in document order, references rewritten.
        let cell = &h1["children"][1]["children"][0]["children"][0];
        assert_eq!(cell["uid"], "7");
        assert_eq!(
            merged.annotations[1].content_uids.as_deref(),
            Some(&["7".to_string()][..])
        );
        assert_eq!(merged.annotations[0].data["source_content_uid"], "3");
        assert_eq!(merged.annotations[0].data["target_content_uid"], "1");
        assert_eq!(tree["uid"], "0");
    }

    fn node(uid: usize, kind: &str, children: Vec<Value>) -> Value {
        serde_json::json!({"uid": uid.to_string(), "type": kind, "content": "x", "children": children})
    }

    proptest::proptest! {
        /// Any parts (flat sequences of headings and paragraphs, some with annotations on
        /// unknown uids): every node is kept once, uids are unique and dense, no panic.
        #[test]
        fn merging_keeps_every_node_once(
            parts in proptest::collection::vec(
                proptest::collection::vec((0u8..7, proptest::bool::ANY), 0..12), 1..5)
        ) {
            let mut total = 1;
            let documents: Vec<OutputDocument> = parts.iter().map(|nodes| {
                let children: Vec<Value> = nodes.iter().enumerate().map(|(i, (level, _))| {
                    let kind = if *level == 0 { "PARAGRAPH".to_string() } else { format!("H{level}") };
                    node(i + 1, &kind, vec![])
                }).collect();
                total += children.len();
                let annotations: Vec<Value> = nodes.iter().enumerate().filter(|(_, (_, a))| *a)
                    .map(|(i, _)| serde_json::json!({"type": "table_structure", "content_uids": [(i + 1).to_string(), "missing"], "data": {}}))
                    .collect();
                let json = serde_json::json!({"content_tree": node(0, "DOCUMENT", children), "annotations": annotations});
                OutputDocument::from_json(json.to_string().as_bytes()).expect("a document")
            }).collect();
            let merged = merge(documents).expect("parts");
            let uids: Vec<String> = merged.nodes().map(|n| n.uid.clone()).collect();
            proptest::prop_assert_eq!(uids.len(), total);
            let expected: Vec<String> = (0..total).map(|n| n.to_string()).collect();
            proptest::prop_assert_eq!(uids, expected);
            for annotation in &merged.annotations {
                let uid = &annotation.content_uids.as_ref().expect("uids")[0];
                proptest::prop_assert!(uid.parse::<usize>().is_ok_and(|n| n < total));
            }
        }
    }
}
