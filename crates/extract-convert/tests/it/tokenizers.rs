//! Exact tokenizers behind features: the budget holds under each (`cargo test -p
//! extract-convert --features tiktoken,hf-tokenizers`, as CI runs it).

use extract_convert::{ChunkOptions, Tokenizer, chunks};

fn every_fixture_fits(tokenizer: &dyn Tokenizer, max_tokens: usize) {
    for (name, document) in crate::common::fixtures() {
        let options = ChunkOptions::default()
            .with_max_tokens(max_tokens)
            .with_overlap(max_tokens / 8);
        let result =
            chunks(&document, &options, tokenizer).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!result.is_empty(), "{name}");
        for chunk in &result {
            let exact = tokenizer.count(&chunk.text);
            assert_eq!(chunk.tokens, exact, "{name}: chunk {}", chunk.index);
            assert!(
                exact <= max_tokens,
                "{name}: chunk {} has {exact} tokens",
                chunk.index
            );
        }
    }
}

#[cfg(feature = "tiktoken")]
#[test]
fn openai_vocabularies_count_exactly_and_hold_the_budget() {
    let cl100k = extract_convert::Tiktoken::named("cl100k_base").expect("cl100k");
    assert_eq!(cl100k.count("hello world"), 2);
    assert_eq!(cl100k.name(), "cl100k_base");
    let o200k = extract_convert::Tiktoken::named("o200k").expect("o200k");
    assert_eq!(o200k.name(), "o200k_base");
    let unknown = extract_convert::Tiktoken::named("gpt2").expect_err("unknown");
    assert!(
        matches!(&unknown, extract_convert::TokenizerError::Unknown { name, .. } if name == "gpt2"),
        "{unknown:?}"
    );
    assert!(unknown.to_string().contains("cl100k_base"), "{unknown}");
    // The same names through the one entry point for names given as text.
    let named = extract_convert::tokenizer_named("o200k_base").expect("o200k");
    assert_eq!(named.name(), "o200k_base");
    for max_tokens in [16, 100, 512] {
        every_fixture_fits(&cl100k, max_tokens);
    }
}

/// A word-level `tokenizer.json` (a real Hugging Face file format), written by the test.
#[cfg(feature = "hf-tokenizers")]
#[test]
fn a_tokenizer_json_counts_exactly_and_holds_the_budget() {
    let dir = std::env::temp_dir().join(format!("extract-convert-hf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("tokenizer.json");
    let vocab = serde_json::json!({"[UNK]": 0, "revenue": 1, "grew": 2, ".": 3});
    let file = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::write(&path, serde_json::to_vec(&file).expect("json")).expect("write");
    let tokenizer = extract_convert::HuggingFace::from_file(&path).expect("loads");
    assert_eq!(tokenizer.count("Revenue grew."), 3);
    assert_eq!(tokenizer.count("Revenue grew by 4%."), 6);
    every_fixture_fits(&tokenizer, 64);
    let missing = extract_convert::HuggingFace::from_file(&dir.join("absent.json"));
    let missing = missing.expect_err("absent");
    assert!(
        matches!(missing, extract_convert::TokenizerError::Load { .. }),
        "{missing:?}"
    );
    assert!(missing.to_string().contains("absent.json"), "{missing}");
    assert!(
        std::error::Error::source(&missing).is_some(),
        "the cause is kept"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// How the estimate compares with cl100k on the fixtures' text: it should over-count a little
/// rather than under-count, so that a budget set by the estimate rarely overflows a model.
#[cfg(feature = "tiktoken")]
#[test]
fn the_estimate_stays_near_cl100k_on_real_text() {
    let cl100k = extract_convert::Tiktoken::named("cl100k_base").expect("cl100k");
    let mut per_fixture = Vec::new();
    for (name, document) in crate::common::fixtures() {
        let text = extract_convert::to_text(&document);
        let (estimate, exact) = (extract_convert::Estimate.count(&text), cl100k.count(&text));
        per_fixture.push((name, estimate as f64 / exact as f64));
    }
    for (name, ratio) in &per_fixture {
        println!("{name}: estimate / cl100k = {ratio:.2}");
        assert!((0.9..=1.6).contains(ratio), "{name}: {ratio:.2}");
    }
}
