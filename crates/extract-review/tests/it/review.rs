//! The review page and the diff, on the fixtures, on hostile text and on a real PDF.

use std::path::PathBuf;

use extract_model::OutputDocument;
use extract_review::{Change, ReviewOptions, diff, located, write_review};
use serde_json::json;

fn fixture(name: &str) -> OutputDocument {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/extract-output")
        .join(name);
    OutputDocument::from_json(&std::fs::read(path).expect("reads")).expect("parses")
}

fn page(document: &OutputDocument, pdf: Option<&[u8]>) -> String {
    let mut html = Vec::new();
    write_review(document, pdf, &ReviewOptions::default(), &mut html).expect("writes");
    String::from_utf8(html).expect("utf-8")
}

fn document(value: serde_json::Value) -> OutputDocument {
    OutputDocument::from_json(&serde_json::to_vec(&value).expect("json")).expect("document")
}

#[test]
fn every_located_box_of_every_fixture_is_drawn_once() {
    for name in [
        "extract_output.json",
        "extract_output_figure_extraction.json",
        "extract_output_hierarchical_v2.json",
        "extract_output_item_relations.json",
        "output_multi_page_locs.json",
        "extract_output_no_locs.json",
    ] {
        let document = fixture(name);
        let html = page(&document, None);
        let boxes: usize = located(&document).iter().map(|l| l.boxes.len()).sum();
        let drawn =
            html.matches("<rect class=\"box ").count() + html.matches("<rect class=\"cell").count();
        assert_eq!(drawn, boxes, "{name}");
        let numbered = located(&document).iter().filter(|l| !l.cell).count();
        assert_eq!(html.matches("<li data-n=").count(), numbered, "{name}");
        // Self-contained: nothing fetched from anywhere.
        for outside in ["src=\"http", "<link", "<script src", "url(http", "@import"] {
            assert!(!html.contains(outside), "{name}: {outside}");
        }
    }
}

#[test]
fn header_cells_are_marked_and_items_numbered_in_reading_order() {
    let html = page(&fixture("extract_output_item_relations.json"), None);
    assert!(html.contains("<rect class=\"cell header\""));
    let first = html.find("data-n=\"1\" x=").expect("item 1");
    let second = html.find("data-n=\"2\" x=").expect("item 2");
    assert!(first < second);
}

#[test]
fn hostile_text_stays_text() {
    let evil = "</script><script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let document = document(
        json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": evil, "type": "PARAGRAPH", "content": evil, "children": [],
         "locations": [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.1, "page_number": 0}]}]},
        "annotations": []}),
    );
    let html = page(&document, None);
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two scripts"
    );
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("alert(1)</script>"));
}

#[test]
fn a_page_far_away_draws_one_sheet_not_a_million() {
    let document = document(
        json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "TEXT", "content": "far", "children": [],
         "locations": [{"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.1, "page_number": 999999}]}]},
        "annotations": []}),
    );
    let html = page(&document, None);
    assert_eq!(html.matches("<section class=\"page\"").count(), 1);
    assert!(html.contains("id=\"page-1000000\""));
}

#[test]
fn pdf_pages_are_rendered_under_their_boxes() {
    let pdf = extract_emulator::sample_pdf(&[
        extract_emulator::SamplePage {
            heading: "First".into(),
            paragraphs: vec!["One.".into()],
        },
        extract_emulator::SamplePage {
            heading: "Second".into(),
            paragraphs: vec!["Two.".into()],
        },
    ]);
    let document = document(
        json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "H1", "content": "First", "children": [],
         "locations": [{"x": 0.1, "y": 0.08, "width": 0.2, "height": 0.03, "page_number": 0}]}]},
        "annotations": []}),
    );
    let html = page(&document, Some(&pdf));
    assert_eq!(
        html.matches("<img class=\"scan\"").count(),
        2,
        "both pages rendered"
    );
    assert_eq!(
        html.matches("data:image/png;base64,iVBORw0KGgo").count(),
        2,
        "as PNG"
    );
    assert!(!html.contains("<foreignObject"), "the PDF shows the text");
    // Letter at 1.5 pixels per point, image and boxes alike.
    assert!(html.contains("width=\"918\" height=\"1188\" src=\"data:image/png"));
    assert!(
        html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"918\" height=\"1188\"")
    );
    let mut out = Vec::new();
    let error = write_review(
        &document,
        Some(b"%PDF-1.4 garbage"),
        &ReviewOptions::default(),
        &mut out,
    )
    .expect_err("not a PDF");
    assert!(error.to_string().contains("PDF"), "{error}");
}

fn two_versions() -> (OutputDocument, OutputDocument) {
    let make = |paragraph: &str, cell: &str, y: f64, extra: bool| {
        let mut children = vec![
            json!({"uid": "h", "type": "H1", "content": "Results", "children": [],
                   "locations": [{"x": 0.1, "y": y, "width": 0.5, "height": 0.05, "page_number": 0}]}),
            json!({"uid": "p", "type": "PARAGRAPH", "content": paragraph, "children": []}),
            json!({"uid": "t", "type": "TABLE", "content": null, "children": [
                {"uid": "c1", "type": "TABLE_CELL", "content": "Year", "children": []},
                {"uid": "c2", "type": "TABLE_CELL", "content": cell, "children": []}]}),
        ];
        if extra {
            children.push(
                json!({"uid": "x", "type": "TEXT", "content": "A new note.", "children": []}),
            );
        } else {
            children.push(
                json!({"uid": "y", "type": "PAGE_FOOTER", "content": "page 1", "children": []}),
            );
        }
        document(
            json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": children},
            "annotations": [
                {"type": "table_structure", "content_uids": ["c1"], "data": {"index": [0, 0], "span": [1, 1]}},
                {"type": "table_structure", "content_uids": ["c2"], "data": {"index": [1, 0], "span": [1, 1]}}]}),
        )
    };
    (
        make("Revenue grew.", "2024", 0.1, false),
        make("Revenue fell.", "2025", 0.13, true),
    )
}

#[test]
fn a_diff_finds_added_removed_changed_cells_and_moved() {
    let (a, b) = two_versions();
    let diff = diff(&a, &b, 0.01);
    let kinds: Vec<&str> = diff
        .changes
        .iter()
        .map(|c| match c {
            Change::Added { .. } => "added",
            Change::Removed { .. } => "removed",
            Change::Changed { .. } => "changed",
            Change::Cells { .. } => "cells",
            Change::Moved { .. } => "moved",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["moved", "changed", "cells", "removed", "added"]);
    match &diff.changes[2] {
        Change::Cells { cells, .. } => {
            let cell = &cells[0];
            assert_eq!(
                (cell.row, cell.col, cell.old.as_str(), cell.new.as_str()),
                (1, 0, "2024", "2025")
            );
        }
        other => panic!("{other:?}"),
    }
    let text = diff.to_string();
    assert!(
        text.starts_with("1 added, 1 removed, 1 changed, 1 tables with changed cells, 1 moved"),
        "{text}"
    );
    assert!(
        text.contains("~ paragraph: Revenue grew. → Revenue fell."),
        "{text}"
    );
    let json = serde_json::to_value(&diff).expect("json");
    assert_eq!(json["changes"][0]["change"], "moved");
    // Within the tolerance nothing moved.
    assert_eq!(extract_review::diff(&a, &b, 0.05).counts["moved"], 0);
    // The same document: no change at all.
    assert!(extract_review::diff(&a, &a, 0.0).changes.is_empty());
    // Highlights on the second output's page.
    let highlights = diff.highlights();
    assert_eq!(highlights.get("h"), Some(&"moved"));
    assert_eq!(highlights.get("x"), Some(&"added"));
}
