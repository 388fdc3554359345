//! A retrieval pipeline's use of `extract-convert`: chunks under an exact OpenAI token budget,
//! each fragment traced back to its node and box.

use extract_convert::{ChunkOptions, Tiktoken, Tokenizer, chunks};
use extract_model::OutputDocument;

#[test]
fn chunks_hold_an_exact_cl100k_budget_and_cite_their_sources() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/extract-output/extract_output_item_relations.json"
    );
    let document =
        OutputDocument::from_json(&std::fs::read(path).expect("fixture")).expect("parses");
    let tokenizer = Tiktoken::named("cl100k_base").expect("vocabulary ships in the crate");
    let options = ChunkOptions::default()
        .with_max_tokens(256)
        .with_overlap(32);
    let result = chunks(&document, &options, &tokenizer).expect("chunks");
    assert!(result.len() > 20);
    for chunk in &result {
        assert!(tokenizer.count(&chunk.text) <= 256);
        for source in chunk.sources.iter().filter(|s| s.bbox.is_some()) {
            let node = document
                .nodes()
                .find(|n| n.uid == source.uid)
                .expect("a real node");
            assert!(
                node.locations.is_some(),
                "a box comes from the node's own locations"
            );
        }
    }
}
