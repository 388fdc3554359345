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

/// The most parts a document is cut into: a file claiming a million pages makes at most this
/// many jobs (larger parts), however small the part size asked for.
pub const MAX_PARTS: u32 = 1000;

/// The pages of each part for `count` pages in parts of `size`: `size`, or larger when that
/// would make more than [`MAX_PARTS`].
pub(crate) fn part_size(count: u32, size: u32) -> u32 {
    size.max(count.div_ceil(MAX_PARTS)).max(1)
}

/// The jobs a document of `pages` pages is sent as when split into parts of at most `size`
/// pages, each a `pages` selection (`"2-3"`, `"6"`, `"1,3-4"`): the pages the request selects
/// (`selection`, the `pages` option as given; all when `None`), in page order, cut into parts
/// of at most `size` pages (more when that would make over [`MAX_PARTS`] parts). `None` when
/// it goes as one job: it selects no more than `size` pages, or the selection does not parse or
/// goes past the end (the service then answers the request as given).
///
/// Parts ask for absolute page numbers, so the merged document numbers its pages as the file
/// does; a selection's pages are taken in page order, once each.
pub fn split_jobs(pages: u32, selection: Option<&str>, size: u32) -> Option<Vec<String>> {
    let ranges = match selection {
        None => vec![(1, pages)],
        Some(spec) => {
            let selection = extract_api::PageSelection::parse(spec).ok()?;
            if selection.last() > pages {
                return None;
            }
            selection.within(pages)
        }
    };
    let count: u64 = ranges
        .iter()
        .filter(|r| r.0 <= r.1)
        .map(|(first, last)| u64::from(last - first) + 1)
        .sum();
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    if count <= size.max(1) {
        return None;
    }
    let part = part_size(count, size);
    let mut parts: Vec<Vec<(u32, u32)>> = vec![vec![]];
    let mut room = part;
    for (mut first, last) in ranges.into_iter().filter(|r| r.0 <= r.1) {
        loop {
            if room == 0 {
                parts.push(vec![]);
                room = part;
            }
            // Pages left in this range, as u64: `1-u32::MAX` has 2^32 - 1 + 1 of them.
            let left = u64::from(last - first) + 1;
            let take = left.min(u64::from(room)) as u32;
            let end = first + (take - 1);
            parts.last_mut().expect("a part").push((first, end));
            room -= take;
            if end == last {
                break;
            }
            first = end + 1;
        }
    }
    Some(
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|ranges| {
                ranges
                    .iter()
                    .map(|&(first, last)| {
                        if first == last {
                            first.to_string()
                        } else {
                            format!("{first}-{last}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect(),
    )
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

    #[test]
    fn split_jobs_cut_the_selected_pages_only() {
        let jobs = |pages, selection, size| split_jobs(pages, selection, size);
        assert_eq!(
            jobs(7, Some("2-3,6"), 2),
            Some(vec!["2-3".to_string(), "6".to_string()])
        );
        assert_eq!(
            jobs(7, Some("6,2-3"), 1),
            Some(vec!["2".into(), "3".into(), "6".into()]),
            "in page order"
        );
        assert_eq!(
            jobs(9, Some("1,3-5,9"), 3),
            Some(vec!["1,3-4".into(), "5,9".into()])
        );
        assert_eq!(
            jobs(10, None, 3),
            Some(vec!["1-3".into(), "4-6".into(), "7-9".into(), "10".into()])
        );
        assert_eq!(jobs(7, Some("2-3,6"), 3), None, "3 pages: one job");
        assert_eq!(jobs(7, None, 7), None);
        assert_eq!(jobs(7, Some("2-9"), 2), None, "past the end: as given");
        assert_eq!(jobs(7, Some("x"), 2), None);
        assert_eq!(jobs(0, None, 1), None);
        // A huge document or selection: at most MAX_PARTS parts, covering every page once.
        for (pages, selection) in [
            (u32::MAX, None),
            (u32::MAX, Some("1-4294967295")),
            (1_000_000, Some("1,3-999999")),
        ] {
            let parts = jobs(pages, selection, 1).expect("split");
            assert!(parts.len() <= MAX_PARTS as usize, "{}", parts.len());
        }
        let parts = jobs(u32::MAX, None, u32::MAX / 2 + 1).expect("split");
        assert_eq!(
            parts.last().map(String::as_str),
            Some("2147483649-4294967295")
        );
    }

    proptest::proptest! {
        /// Every selected page once, in page order, in parts of at most `size` pages (when
        /// that makes no more than MAX_PARTS parts).
        #[test]
        fn split_jobs_keep_every_selected_page_once(
            pages in 1u32..60,
            spec in proptest::collection::vec((1u32..70, 0u32..8), 1..5),
            size in 1u32..9,
        ) {
            let spec: Vec<String> = spec.iter().map(|(a, n)| format!("{a}-{}", a + n)).collect();
            let spec = spec.join(",");
            let selection = extract_api::PageSelection::parse(&spec).expect("parses");
            let Some(parts) = split_jobs(pages, Some(&spec), size) else {
                proptest::prop_assert!(selection.last() > pages || selection.count() <= size);
                return Ok(());
            };
            let mut seen = Vec::new();
            for part in &parts {
                let part = extract_api::PageSelection::parse(part).expect("a selection");
                proptest::prop_assert!(part.count() <= size);
                let pages_of: Vec<u32> = part.within(u32::MAX).iter().flat_map(|&(a, b)| a..=b).collect();
                seen.extend(pages_of);
            }
            let wanted: Vec<u32> = selection.within(pages).iter().flat_map(|&(a, b)| a..=b).collect();
            proptest::prop_assert_eq!(seen, wanted);
        }
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
