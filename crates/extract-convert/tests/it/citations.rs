//! Page-anchored Markdown with its source map, and HTML tables read back by an independent
//! parser: on every fixture and on generated documents.

use std::collections::HashSet;

use crate::common::{document_strategy, fixtures};
use extract_convert::{HtmlOptions, MarkdownOptions, tables, tables_html, to_markdown_with_map};
use extract_model::OutputDocument;
use proptest::prelude::*;

/// A cell's text as a Markdown row holds it.
fn escaped(text: &str) -> String {
    text.replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
        .replace('|', "\\|")
}

/// Every promise of the source map, checked on one document.
fn check_markdown(document: &OutputDocument) -> Result<(), TestCaseError> {
    let options = MarkdownOptions::default().with_page_anchors(true);
    let (markdown, map) = to_markdown_with_map(document, &options);
    let nodes: std::collections::HashMap<&str, &extract_model::ContentNode> =
        document.nodes().map(|n| (n.uid.as_str(), n)).collect();
    // Page markers, in the order written: (byte position, page).
    let markers: Vec<(usize, i64)> = markdown
        .match_indices("<!-- page ")
        .map(|(at, _)| {
            let number: String = markdown[at + 10..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (at, number.parse().expect("page number"))
        })
        .collect();
    prop_assert!(
        markers.windows(2).all(|w| w[0].1 < w[1].1),
        "markers ascend"
    );
    let mut seen = HashSet::new();
    let mut last_end = 0;
    for entry in &map.nodes {
        prop_assert!(
            seen.insert((entry.uid.clone(), entry.start)),
            "{} mapped twice",
            entry.uid
        );
        let node = nodes[entry.uid.as_str()];
        let written = &markdown[entry.start..entry.end];
        let table = matches!(
            entry.node_type.as_str(),
            "table" | "table_of_contents" | "figure_extracted_table"
        );
        if !table {
            let text = node.content.clone().unwrap_or_default();
            let expected = if entry.node_type.ends_with("_cell") {
                escaped(&text)
            } else {
                text
            };
            if entry.node_type != "figure_extracted_table_cell" {
                prop_assert_eq!(written, expected.as_str(), "node {}", entry.uid);
            }
        }
        if let Some([x, y, w, h]) = entry.bbox {
            prop_assert!(x >= 0.0 && y >= 0.0 && x + w <= 1.0 + 1e-9 && y + h <= 1.0 + 1e-9);
        }
        // An item is written under the marker of its first page or a later one.
        if !entry.node_type.ends_with("_cell") {
            prop_assert!(entry.start >= last_end, "items in order");
            last_end = entry.end;
            if let Some(page) = entry.page {
                let marker = markers
                    .iter()
                    .rev()
                    .find(|(at, _)| *at < entry.start)
                    .map(|m| m.1);
                prop_assert!(
                    marker.is_some_and(|m| m >= page),
                    "node {} on page {page} under {marker:?}",
                    entry.uid
                );
            }
        }
    }
    // Every item with text appears once: no page repeats it.
    for node in document.nodes() {
        let cell = matches!(
            node.r#type.as_str(),
            "TABLE_CELL" | "FIGURE_EXTRACTED_TABLE_CELL"
        );
        if node.content.as_deref().is_some_and(|t| !t.is_empty()) && !cell {
            let count = map.nodes.iter().filter(|e| e.uid == node.uid).count();
            prop_assert_eq!(count, 1, "node {}", node.uid);
        }
    }
    Ok(())
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The grid of every `<table>` in `html`, by the HTML table model: each cell fills the
/// positions of its spans, later cells skip positions already filled.
fn parse_tables(html: &str) -> Vec<Vec<Vec<String>>> {
    let dom = tl::parse(html, tl::ParserOptions::default()).expect("html parses");
    let parser = dom.parser();
    let mut grids = Vec::new();
    for table in dom.query_selector("table").expect("selector") {
        let table = table
            .get(parser)
            .and_then(|n| n.as_tag())
            .expect("table tag");
        let mut grid: Vec<Vec<Option<String>>> = Vec::new();
        let rows = table.query_selector(parser, "tr").expect("selector");
        for (r, row) in rows.enumerate() {
            let row = row.get(parser).and_then(|n| n.as_tag()).expect("row");
            if grid.len() <= r {
                grid.resize(r + 1, Vec::new());
            }
            let mut c = 0;
            for child in row.children().top().iter() {
                let Some(cell) = child.get(parser).and_then(|n| n.as_tag()) else {
                    continue;
                };
                let name = cell.name().as_utf8_str();
                if name != "td" && name != "th" {
                    continue;
                }
                let attr = |key: &str| {
                    cell.attributes()
                        .get(key)
                        .flatten()
                        .and_then(|v| v.as_utf8_str().parse::<usize>().ok())
                        .unwrap_or(1)
                };
                let (rows, cols) = (attr("rowspan"), attr("colspan"));
                while grid[r].get(c).is_some_and(Option::is_some) {
                    c += 1;
                }
                let text = decode(&cell.inner_html(parser));
                for rr in r..r + rows {
                    if grid.len() <= rr {
                        grid.resize(rr + 1, Vec::new());
                    }
                    for cc in c..c + cols {
                        if grid[rr].len() <= cc {
                            grid[rr].resize(cc + 1, None);
                        }
                        // The text in the top-left position, empty in the covered ones.
                        grid[rr][cc] = Some(if rr == r && cc == c {
                            text.clone()
                        } else {
                            String::new()
                        });
                    }
                }
                c += cols;
            }
        }
        let width = grid.iter().map(Vec::len).max().unwrap_or(0);
        grids.push(
            grid.into_iter()
                .map(|row| {
                    let mut row: Vec<String> =
                        row.into_iter().map(Option::unwrap_or_default).collect();
                    row.resize(width, String::new());
                    row
                })
                .collect(),
        );
    }
    grids
}

fn check_html(document: &OutputDocument) -> Result<(), TestCaseError> {
    let html = tables_html(document, &HtmlOptions::default());
    let parsed = parse_tables(&html);
    let expected: Vec<Vec<Vec<String>>> = tables(document, false)
        .into_iter()
        .map(|(_, t)| t.grid)
        .collect();
    prop_assert_eq!(parsed, expected);
    Ok(())
}

#[test]
fn fixtures_map_every_node_and_read_back_every_table() {
    for (name, document) in fixtures() {
        check_markdown(&document).unwrap_or_else(|e| panic!("{name}: {e}"));
        check_html(&document).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn a_span_becomes_rowspan_and_colspan_and_headers_a_thead() {
    let (_, document) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "extract_output_item_relations.json")
        .expect("fixture");
    let html = tables_html(&document, &HtmlOptions::default());
    assert!(
        html.contains("<thead>") && html.contains("<th"),
        "header rows flagged in the fixture"
    );
    assert!(html.contains("colspan=\"") || html.contains("rowspan=\""));
    assert!(
        html.contains("<caption><span data-uid="),
        "captions from relations"
    );
}

#[test]
fn items_across_pages_appear_once_at_their_first_page() {
    let document = OutputDocument::from_json(
        br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "PARAGRAPH", "content": "Starts on 1", "children": [], "locations": [
          {"x": 0.1, "y": 0.8, "width": 0.5, "height": 0.1, "page_number": 0},
          {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.1, "page_number": 1}]},
        {"uid": "2", "type": "PARAGRAPH", "content": "On 2 | with a pipe", "children": [], "locations": [
          {"x": 0.1, "y": 0.3, "width": 0.5, "height": 0.1, "page_number": 1}]},
        {"uid": "3", "type": "PARAGRAPH", "content": "A note read late", "children": [], "locations": [
          {"x": 0.1, "y": 0.9, "width": 0.5, "height": 0.1, "page_number": 0}]}]},
        "annotations": []}"#,
    )
    .expect("document");
    let options = MarkdownOptions::default().with_page_anchors(true);
    let (markdown, map) = to_markdown_with_map(&document, &options);
    // The late note stays where the reading order puts it: markers never go back.
    assert_eq!(
        markdown,
        "<!-- page 1 -->\nStarts on 1\n<!-- page 2 -->\nOn 2 | with a pipe\nA note read late"
    );
    assert_eq!(map.nodes[0].more.len(), 1, "the second box is kept");
    assert_eq!(map.nodes[0].more[0].page, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_documents_map_every_node_and_read_back_every_table(value in document_strategy()) {
        let document = OutputDocument::from_json(&serde_json::to_vec(&value).expect("json")).expect("document");
        check_markdown(&document)?;
        check_html(&document)?;
    }
}

/// Two tables on consecutive pages, the second repeating the first's header row, with a page
/// footer between them.
fn continued_table() -> OutputDocument {
    let mut children = Vec::new();
    let mut annotations = Vec::new();
    let rows = [
        (
            "A",
            0,
            vec![["Year", "Revenue"], ["2020", "10"], ["2021", "11"]],
        ),
        (
            "B",
            1,
            vec![["Year", "Revenue"], ["2022", "12"], ["2023", "13"]],
        ),
    ];
    for (name, page, grid) in rows {
        let location = serde_json::json!([{"x": 0.1, "y": 0.5, "width": 0.8, "height": 0.4, "page_number": page}]);
        let mut cells = Vec::new();
        for (r, row) in grid.iter().enumerate() {
            for (c, text) in row.iter().enumerate() {
                let uid = format!("{name}{r}{c}");
                cells.push(serde_json::json!({"uid": uid, "type": "TABLE_CELL", "content": text, "children": []}));
                annotations.push(
                    serde_json::json!({"type": "table_structure", "content_uids": [uid],
                    "data": {"index": [r, c], "span": [1, 1], "is_column_header": r == 0}}),
                );
            }
        }
        children.push(serde_json::json!({"uid": name, "type": "TABLE", "content": null, "children": cells, "locations": location}));
        if page == 0 {
            children.push(serde_json::json!({"uid": "F", "type": "PAGE_FOOTER", "content": "page 1", "children": []}));
        }
    }
    let value = serde_json::json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": children},
        "annotations": annotations});
    OutputDocument::from_json(&serde_json::to_vec(&value).expect("json")).expect("document")
}

#[test]
fn a_table_continued_on_the_next_page_is_stitched_only_when_asked() {
    let document = continued_table();
    let apart = parse_tables(&tables_html(&document, &HtmlOptions::default()));
    assert_eq!(apart.len(), 2);
    let stitched = parse_tables(&tables_html(
        &document,
        &HtmlOptions::default().with_stitch_tables(true),
    ));
    let expected: Vec<Vec<String>> = [
        ["Year", "Revenue"],
        ["2020", "10"],
        ["2021", "11"],
        ["2022", "12"],
        ["2023", "13"],
    ]
    .iter()
    .map(|r| r.iter().map(|c| c.to_string()).collect())
    .collect();
    assert_eq!(stitched, [expected]);
    let options = extract_convert::ChunkOptions::default().with_stitch_tables(true);
    let chunks =
        extract_convert::chunks(&document, &options, &extract_convert::Estimate).expect("chunks");
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        chunks[0].text,
        "| Year | Revenue |\n| --- | --- |\n| 2020 | 10 |\n| 2021 | 11 |\n| 2022 | 12 |\n| 2023 | 13 |"
    );
    assert_eq!(chunks[0].pages, [1, 2]);
}

#[test]
fn tables_that_do_not_continue_each_other_stay_apart() {
    let mut value = serde_json::to_value(continued_table()).expect("value");
    // A different header on the second table.
    value["content_tree"]["children"][2]["children"][0]["content"] = serde_json::json!("Quarter");
    let document =
        OutputDocument::from_json(&serde_json::to_vec(&value).expect("json")).expect("document");
    let stitched = parse_tables(&tables_html(
        &document,
        &HtmlOptions::default().with_stitch_tables(true),
    ));
    assert_eq!(stitched.len(), 2);
}
