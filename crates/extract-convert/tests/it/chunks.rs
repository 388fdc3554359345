//! Chunks keep their promises on every fixture and on generated documents: no chunk over the
//! budget; every character of content in exactly one chunk (repeated table headers and
//! overlaps excepted); every source range equal to its node's text; every box on the page.

use std::collections::HashMap;

use crate::common::{document_strategy, fixtures};

use extract_convert::{Chunk, ChunkError, ChunkOptions, Estimate, Tokenizer, chunks};
use extract_model::{ContentNode, NodeType, OutputDocument};
use proptest::prelude::*;
use serde_json::json;

/// The text a node contributes: its content (figure-table cells: their content, which the
/// fixtures keep equal to the annotation's value). Page furniture and containers give none.
fn content_nodes(document: &OutputDocument, furniture: bool) -> HashMap<String, String> {
    document
        .nodes()
        .filter(|n| {
            !matches!(n.r#type, NodeType::Document | NodeType::Table)
                && (furniture || !matches!(n.r#type, NodeType::PageHeader | NodeType::PageFooter))
        })
        .filter_map(|n: &ContentNode| {
            let text = n.content.clone().filter(|t| !t.is_empty())?;
            Some((n.uid.clone(), text))
        })
        .collect()
}

fn char_slice(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

/// Every promise of `chunks`, checked on one result.
fn check(
    document: &OutputDocument,
    chunks: &[Chunk],
    max_tokens: usize,
    furniture: bool,
    tokenizer: &dyn Tokenizer,
) -> Result<(), TestCaseError> {
    let content = content_nodes(document, furniture);
    // uid → (offset, length) of every fragment given (not repeated).
    let mut given: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    for chunk in chunks {
        prop_assert!(
            chunk.tokens <= max_tokens,
            "chunk {} has {} tokens",
            chunk.index,
            chunk.tokens
        );
        prop_assert_eq!(chunk.tokens, tokenizer.count(&chunk.text));
        for source in &chunk.sources {
            let fragment = char_slice(&chunk.text, source.start, source.end);
            let full = content.get(&source.uid).cloned().unwrap_or_default();
            let expected = char_slice(
                &full,
                source.offset,
                source.offset + source.end - source.start,
            );
            prop_assert_eq!(
                &fragment,
                &expected,
                "source {} of chunk {}",
                source.uid,
                chunk.index
            );
            if let Some([x, y, w, h]) = source.bbox {
                prop_assert!(x >= 0.0 && y >= 0.0 && w >= 0.0 && h >= 0.0);
                prop_assert!(
                    x + w <= 1.0 + 1e-9 && y + h <= 1.0 + 1e-9,
                    "box {:?}",
                    source.bbox
                );
            }
            prop_assert!(source.start >= chunk.overlap || source.repeated);
            if !source.repeated && source.end > source.start {
                given
                    .entry(&source.uid)
                    .or_default()
                    .push((source.offset, source.end - source.start));
            }
        }
        prop_assert!(chunk.pages.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(chunk.pages.iter().all(|p| *p >= 1));
    }
    for (uid, text) in &content {
        let mut parts = given.remove(uid.as_str()).unwrap_or_default();
        parts.sort_unstable();
        let mut next = 0;
        for (offset, len) in parts {
            prop_assert_eq!(offset, next, "node {} given twice or with a gap", uid);
            next = offset + len;
        }
        prop_assert_eq!(next, text.chars().count(), "node {} not wholly given", uid);
    }
    Ok(())
}

#[test]
fn fixtures_at_the_default_budget_keep_every_promise() {
    for (name, document) in fixtures() {
        let options = ChunkOptions::default();
        let result = chunks(&document, &options, &Estimate).expect(&name);
        check(&document, &result, 512, false, &Estimate).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!result.is_empty(), "{name}");
    }
}

#[test]
fn a_big_table_is_cut_between_rows_with_its_header_repeated() {
    let (_, document) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "extract_output_item_relations.json")
        .expect("fixture");
    let options = ChunkOptions::default().with_max_tokens(120);
    let result = chunks(&document, &options, &Estimate).expect("chunks");
    let repeated: Vec<&Chunk> = result
        .iter()
        .filter(|c| {
            c.sources
                .iter()
                .any(|s| s.repeated && s.node_type == "table_cell")
        })
        .collect();
    assert!(!repeated.is_empty(), "some table needs parts at 120 tokens");
    for chunk in repeated {
        // A part opens with the header rows, then the separator line.
        let first_real = chunk.sources.iter().find(|s| !s.repeated).expect("rows");
        let header: String = chunk.text.chars().take(first_real.start).collect();
        assert!(header.starts_with('|'), "{header:?}");
        assert!(header.contains("| --- |"), "{header:?}");
        // What opens the part is the table's box and its header cells, all repeated.
        let opening: Vec<&str> = chunk
            .sources
            .iter()
            .take_while(|s| s.repeated)
            .map(|s| s.node_type.as_str())
            .collect();
        assert_eq!(opening[0], "table", "{opening:?}");
        assert!(
            opening[1..].iter().all(|t| *t == "table_cell"),
            "{opening:?}"
        );
    }
}

#[test]
fn captions_stay_with_their_tables() {
    let (_, document) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "extract_output_item_relations.json")
        .expect("fixture");
    let result = chunks(&document, &ChunkOptions::default(), &Estimate).expect("chunks");
    let chunk_of = |uid: &str| {
        result
            .iter()
            .find(|c| c.sources.iter().any(|s| s.uid == uid && !s.repeated))
            .map(|c| c.index)
    };
    let mut checked = 0;
    for annotation in &document.annotations {
        if let extract_model::AnnotationKind::Relation(r) = annotation.kind() {
            let table = document
                .nodes()
                .find(|n| n.uid == r.target_content_uid)
                .expect("target");
            let Some(first_cell) = table.children.first() else {
                continue;
            };
            let caption = chunk_of(&r.source_content_uid);
            if caption.is_none() {
                continue;
            }
            let cells: Vec<Option<usize>> =
                table.children.iter().map(|c| chunk_of(&c.uid)).collect();
            assert!(
                cells.contains(&caption),
                "caption {} is apart from table {} (first cell {})",
                r.source_content_uid,
                r.target_content_uid,
                first_cell.uid
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked} captions checked");
}

#[test]
fn small_sections_under_one_heading_merge_and_big_ones_do_not() {
    let document = OutputDocument::from_json(
        br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "H1", "content": "Results", "children": [
          {"uid": "2", "type": "H2", "content": "Q1", "children": [
            {"uid": "3", "type": "PARAGRAPH", "content": "Up.", "children": []}]},
          {"uid": "4", "type": "H2", "content": "Q2", "children": [
            {"uid": "5", "type": "PARAGRAPH", "content": "Down.", "children": []}]}]},
        {"uid": "6", "type": "H1", "content": "Outlook", "children": [
            {"uid": "7", "type": "PARAGRAPH", "content": "Flat.", "children": []}]}]},
        "annotations": []}"#,
    )
    .expect("document");
    let result = chunks(&document, &ChunkOptions::default(), &Estimate).expect("chunks");
    let texts: Vec<&str> = result.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["Results\nQ1\nUp.\nQ2\nDown.", "Outlook\nFlat."]);
    assert_eq!(result[0].headings, ["Results"]);
    assert_eq!(result[1].headings, ["Outlook"]);
}

#[test]
fn a_long_paragraph_is_cut_between_sentences_and_overlaps() {
    let sentences: Vec<String> = (0..40)
        .map(|i| format!("Sentence number {i} says something about revenue."))
        .collect();
    let paragraph = sentences.join(" ");
    let document = OutputDocument::from_json(
        serde_json::to_vec(&json!({"content_tree": {"uid": "0", "type": "DOCUMENT",
            "content": null, "children": [
            {"uid": "1", "type": "PARAGRAPH", "content": paragraph, "children": []}]},
            "annotations": []}))
        .expect("json")
        .as_slice(),
    )
    .expect("document");
    let options = ChunkOptions::default().with_max_tokens(64).with_overlap(10);
    let result = chunks(&document, &options, &Estimate).expect("chunks");
    assert!(result.len() > 3);
    for chunk in &result {
        let own: String = chunk.text.chars().skip(chunk.overlap).collect();
        assert!(
            own.starts_with("Sentence"),
            "cut inside a sentence: {own:?}"
        );
        assert!(chunk.tokens <= 64);
    }
    assert!(
        result[1..].iter().all(|c| c.overlap > 0),
        "every later chunk overlaps"
    );
    check(&document, &result, 64, false, &Estimate).expect("promises");
}

#[test]
fn a_table_without_cells_leaves_no_trace_in_the_text() {
    let document = OutputDocument::from_json(
        br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "TABLE", "content": null, "children": [], "locations": [
          {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.2, "page_number": 0}]},
        {"uid": "2", "type": "TEXT", "content": "After.", "children": []}]},
        "annotations": []}"#,
    )
    .expect("document");
    let result = chunks(&document, &ChunkOptions::default(), &Estimate).expect("chunks");
    let texts: Vec<&str> = result.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["After."], "no empty chunk, no stray line break");
}

#[test]
fn impossible_options_are_refused_with_a_reason() {
    let (_, document) = fixtures().remove(0);
    let tiny = ChunkOptions::default().with_max_tokens(4);
    assert!(matches!(
        chunks(&document, &tiny, &Estimate).expect_err("refused"),
        ChunkError::MaxTokens {
            max_tokens: 4,
            min: 16,
            ..
        }
    ));
    let wide = ChunkOptions::default()
        .with_max_tokens(100)
        .with_overlap(60);
    assert!(matches!(
        chunks(&document, &wide, &Estimate).expect_err("refused"),
        ChunkError::Overlap { overlap: 60, .. }
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_documents_keep_every_promise(
        value in document_strategy(),
        max_tokens in 16usize..300,
        overlap_share in 0usize..3,
        furniture: bool,
    ) {
        let document = OutputDocument::from_json(&serde_json::to_vec(&value).expect("json")).expect("document");
        let overlap = max_tokens * overlap_share / 8;
        let options = ChunkOptions::default().with_max_tokens(max_tokens).with_overlap(overlap).with_furniture(furniture);
        let result = chunks(&document, &options, &Estimate).expect("chunks");
        check(&document, &result, max_tokens, furniture, &Estimate)?;
    }

    #[test]
    fn fixtures_at_any_budget_keep_every_promise(
        which in 0usize..8,
        max_tokens in 16usize..700,
        overlap_share in 0usize..3,
    ) {
        let (_, document) = fixtures().swap_remove(which);
        let overlap = max_tokens * overlap_share / 8;
        let options = ChunkOptions::default().with_max_tokens(max_tokens).with_overlap(overlap);
        let result = chunks(&document, &options, &Estimate).expect("chunks");
        check(&document, &result, max_tokens, false, &Estimate)?;
    }
}
