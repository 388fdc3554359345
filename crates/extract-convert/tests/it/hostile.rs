//! Hostile documents: no input makes a conversion panic, abort, or produce output far beyond
//! its own size. The crash cases of issue 10 are kept in `tests/hostile/`; property tests mutate
//! every fixture with random indices, spans, boxes, page numbers, depths and unknown types.

use crate::common::{dir, json_files};
use extract_convert::*;
use extract_model::OutputDocument;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Runs every conversion; returns the total bytes of the results other than the visual layout,
/// and the visual pages.
fn convert_all(document: &OutputDocument) -> (usize, Vec<String>) {
    let mut total = 0;
    total += serde_json::to_vec(&items(document, true))
        .expect("items")
        .len();
    total += serde_json::to_vec(&relations(document))
        .expect("relations")
        .len();
    total += to_text(document).len();
    total += to_markdown(document).len();
    total += to_text_by_page(document)
        .iter()
        .map(String::len)
        .sum::<usize>();
    total += to_markdown_by_page(document)
        .iter()
        .map(String::len)
        .sum::<usize>();
    total += serde_json::to_vec(&sections(document))
        .expect("sections")
        .len();
    for duplicate in [true, false] {
        for table in table_grids(document, duplicate).values() {
            total += grid_to_csv(&table.grid).len();
        }
    }
    total += to_html(document, &HtmlOptions::default().with_stitch_tables(true)).len();
    let (markdown, map) = to_markdown_with_map(
        document,
        &MarkdownOptions::default().with_page_anchors(true),
    );
    total += markdown.len() + serde_json::to_vec(&map).expect("map").len();
    for max_tokens in [16, 512] {
        let options = ChunkOptions::default()
            .with_max_tokens(max_tokens)
            .with_overlap(max_tokens / 4);
        let chunks =
            chunks(document, &options, &Estimate).expect("chunks never fail at 16 tokens and more");
        total += serde_json::to_vec(&chunks).expect("chunks").len();
    }
    let _ = check(document);
    (total, to_visual(document, VisualOptions::default()))
}

/// Asserts the bounds: the results stay within a small multiple of the input (the items list
/// alone repeats each text up to three times: text, Markdown, grid), and the visual layout has
/// one bounded page per page the input places something on.
fn assert_bounded(input: &[u8], document: &OutputDocument) -> Result<(), TestCaseError> {
    let (total, visual) = convert_all(document);
    let limit = 200 * input.len() + (4 << 20);
    prop_assert!(
        total <= limit,
        "{total} bytes of output from {} bytes",
        input.len()
    );
    // The page grows at most ten times by 50 each way from 300 × 100.
    let page_chars = (800 + 1) * 600 + 100;
    prop_assert!(
        visual.iter().all(|p| p.chars().count() <= page_chars),
        "a visual page over {page_chars} characters"
    );
    Ok(())
}

#[test]
fn the_crash_cases_of_issue_10_convert_within_bounds() {
    let cases = json_files(dir("tests/hostile"));
    assert!(cases.len() >= 6, "the regression fixtures are there");
    for (name, bytes) in cases {
        let document = OutputDocument::from_json(&bytes).expect(&name);
        assert_bounded(&bytes, &document).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The good cell survives; the impossible one is reported, not drawn.
        let grids = table_grids(&document, true);
        assert_eq!(grids["2"].grid[0][0], "a", "{name}");
        let warnings = check(&document);
        match name.as_str() {
            "index-2147483647.json" | "span-100000.json" => {
                assert!(
                    matches!(&warnings[..], [Warning::BadCell { uids }] if uids == &["4"]),
                    "{name}: {warnings:?}"
                );
                assert_eq!(grids["2"].grid, [vec!["a".to_string()]], "{name}");
            }
            "sparse-corner.json" => {
                assert!(
                    matches!(&warnings[..], [Warning::OversizedTable { skipped: 1, .. }]),
                    "{name}: {warnings:?}"
                );
            }
            "page-out-of-range.json" => {
                assert_eq!(warnings, [Warning::BadLocations { count: 2 }], "{name}");
                assert!(to_visual(&document, VisualOptions::default()).is_empty());
            }
            _ => {
                assert!(warnings.is_empty(), "{name}: {warnings:?}");
                let pages = to_visual(&document, VisualOptions::default());
                assert_eq!(pages.len(), 1, "{name}");
                assert!(pages[0].contains("before the table"), "{name}");
            }
        }
    }
}

#[test]
fn options_from_outside_cannot_ask_for_a_huge_page() {
    let (_, bytes) = &json_files(dir("tests/hostile"))[0];
    let document = OutputDocument::from_json(bytes).expect("parses");
    let mut options = VisualOptions::default();
    options.page_width = usize::MAX;
    options.page_height = usize::MAX;
    let pages = to_visual(&document, options);
    assert!(
        pages[0]
            .lines()
            .all(|l| l.chars().count() <= MAX_VISUAL_SIDE)
    );
}

/// A number from outside: mostly plausible, often hostile.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0i64..30).prop_map(Value::from),
        1 => prop::sample::select(vec![
            -1i64, 2147483647, 100_000, 9_999, 10_000, i64::MAX, i64::MIN,
        ])
        .prop_map(Value::from),
        1 => Just(Value::from(u64::MAX)),
        1 => Just(Value::from(1.5)),
        1 => Just(Value::Null),
    ]
}

/// A coordinate from outside.
fn coordinate() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0.0f64..1.0).prop_map(Value::from),
        1 => prop::sample::select(vec![-5.0, 1e12, 9.2e18, f64::MAX, -f64::MAX, 1.0])
            .prop_map(Value::from),
        1 => Just(Value::from(i64::MAX)),
    ]
}

fn location() -> impl Strategy<Value = Value> {
    (
        coordinate(),
        coordinate(),
        coordinate(),
        coordinate(),
        prop_oneof![4 => (0i64..4).prop_map(Value::from), 1 => number()],
    )
        .prop_map(|(x, y, width, height, page)| {
            json!({"x": x, "y": y, "width": width, "height": height, "page_number": page})
        })
}

/// One change to a document.
#[derive(Debug, Clone)]
enum Mutation {
    /// A table annotation's index and span.
    Cell(usize, [Value; 4]),
    /// A node's locations.
    Locations(usize, Vec<Value>),
    /// A node's type.
    Type(usize, String),
    /// The root's children nested this deep.
    Depth(usize),
    /// An annotation of a type nobody knows.
    UnknownAnnotation(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), [number(), number(), number(), number()])
            .prop_map(|(i, v)| Mutation::Cell(i, v)),
        3 => (any::<usize>(), prop::collection::vec(location(), 0..4))
            .prop_map(|(i, l)| Mutation::Locations(i, l)),
        2 => (
            any::<usize>(),
            prop::sample::select(vec!["TABLE", "TABLE_CELL", "FIGURE_EXTRACTED_TABLE", "H9", "", "DOCUMENT"])
        )
            .prop_map(|(i, t)| Mutation::Type(i, t.to_string())),
        1 => (0usize..150).prop_map(Mutation::Depth),
        1 => any::<usize>().prop_map(Mutation::UnknownAnnotation),
    ]
}

/// How many nodes a content tree has.
fn count(node: &Value) -> usize {
    1 + node["children"]
        .as_array()
        .map_or(0, |c| c.iter().map(count).sum())
}

fn with_node(document: &mut Value, index: usize, change: impl FnOnce(&mut Value)) {
    // Walks to the index-th node without holding more than one borrow at a time.
    fn walk<'a>(node: &'a mut Value, left: &mut usize) -> Option<&'a mut Value> {
        if *left == 0 {
            return Some(node);
        }
        *left -= 1;
        let children = node.get_mut("children")?.as_array_mut()?;
        for child in children {
            if let Some(found) = walk(child, left) {
                return Some(found);
            }
        }
        None
    }
    let mut left = index % count(&document["content_tree"]);
    if let Some(node) = walk(&mut document["content_tree"], &mut left) {
        change(node);
    }
}

fn apply(document: &mut Value, mutation: &Mutation) {
    match mutation {
        Mutation::Cell(i, [r, c, rs, cs]) => {
            if let Some(annotations) = document["annotations"].as_array_mut()
                && !annotations.is_empty()
            {
                let n = annotations.len();
                annotations[i % n]["data"]["index"] = json!([r, c]);
                annotations[i % n]["data"]["span"] = json!([rs, cs]);
            }
        }
        Mutation::Locations(i, locations) => {
            with_node(document, *i, |node| {
                node["locations"] = Value::from(locations.clone());
            });
        }
        Mutation::Type(i, t) => with_node(document, *i, |node| node["type"] = json!(t)),
        Mutation::Depth(depth) => {
            let children = document["content_tree"]["children"].take();
            let mut nested = children;
            for level in 0..*depth {
                nested = json!([{"uid": format!("deep-{level}"), "type": "H2", "content": "deep", "children": nested}]);
            }
            document["content_tree"]["children"] = nested;
        }
        Mutation::UnknownAnnotation(i) => {
            if let Some(annotations) = document["annotations"].as_array_mut() {
                let at = i % (annotations.len() + 1);
                annotations.insert(
                    at,
                    json!({"type": "from_the_future", "content_uids": ["1"], "data": {"index": "x"}}),
                );
            }
        }
    }
}

fn fixtures() -> Vec<Value> {
    json_files(dir("../../fixtures/extract-output"))
        .into_iter()
        .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("fixture"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_conversion_of_a_mutated_fixture_is_bounded(
        fixture in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let fixtures = fixtures();
        let mut document = fixtures[fixture.index(fixtures.len())].clone();
        for mutation in &mutations {
            apply(&mut document, mutation);
        }
        let bytes = serde_json::to_vec(&document).expect("serializes");
        // Parsing may refuse (a document nested past the parser's depth limit); never panic.
        if let Ok(parsed) = OutputDocument::from_json(&bytes) {
            assert_bounded(&bytes, &parsed)?;
            // The model round-trips whatever it accepted.
            let again = serde_json::to_vec(&parsed).expect("serializes");
            prop_assert_eq!(OutputDocument::from_json(&again).ok(), Some(parsed));
        }
    }
}
