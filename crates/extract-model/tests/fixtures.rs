//! The output model reads every real output without loss: a round trip gives the same JSON.

use extract_model::{AnnotationKind, NodeType, OutputDocument};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/extract-output");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 8, "all eight fixtures");
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                std::fs::read(&p).expect("reads"),
            )
        })
        .collect()
}

#[test]
fn every_fixture_round_trips_to_the_same_json_value() {
    for (name, bytes) in fixtures() {
        let original: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let document = OutputDocument::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = serde_json::to_value(&document).expect("serializes");
        let expected = original
            .get("output")
            .filter(|_| original.get("content_tree").is_none())
            .unwrap_or(&original);
        assert!(
            again == *expected,
            "{name}: the round trip changed the document"
        );
    }
}

#[test]
fn node_types_annotations_and_unknowns_are_typed_and_kept() {
    let mut kinds = std::collections::BTreeMap::new();
    for (name, bytes) in fixtures() {
        let document = OutputDocument::from_json(&bytes).expect("parses");
        assert_eq!(document.content_tree.r#type, NodeType::Document, "{name}");
        assert!(
            document
                .nodes()
                .all(|n| !matches!(n.r#type, NodeType::Other(_))),
            "{name}: all fixture types are known"
        );
        for annotation in &document.annotations {
            let kind = match annotation.kind() {
                AnnotationKind::TableCell(cell) => {
                    assert_eq!((cell.index.len(), cell.span.len()), (2, 2));
                    "table"
                }
                AnnotationKind::FigureTableCell(cell) => {
                    assert!(!cell.value.is_empty() || cell.value.is_empty());
                    "figure"
                }
                AnnotationKind::Relation(relation) => {
                    assert!(!relation.source_content_uid.is_empty());
                    "relation"
                }
                _ => "other",
            };
            *kinds.entry(kind).or_insert(0) += 1;
        }
    }
    assert_eq!(kinds.get("other"), None);
    assert_eq!(
        (kinds["table"], kinds["figure"], kinds["relation"]),
        (2524, 14, 36)
    );

    // New node and annotation types, and new fields, survive.
    let future = br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
        {"uid": "1", "type": "HOLOGRAM", "content": "x", "children": [], "confidence": 0.9}]},
        "annotations": [{"type": "sentiment", "content_uids": ["1"], "data": {"score": 1}}], "model": "v9"}"#;
    let document = OutputDocument::from_json(future).expect("parses");
    assert_eq!(
        document.content_tree.children[0].r#type,
        NodeType::Other("HOLOGRAM".into())
    );
    assert_eq!(document.annotations[0].kind(), AnnotationKind::Other);
    let original: serde_json::Value = serde_json::from_slice(future).expect("json");
    assert_eq!(
        serde_json::to_value(&document).expect("serializes"),
        original
    );
}
