//! Counting tokens: the unit a chunk's budget is in.
//!
//! The default is a fast estimate with no vocabulary; exact counts for OpenAI-style BPE
//! (`tiktoken` feature, the vocabularies ship inside `tiktoken-rs`) and for any Hugging Face
//! `tokenizer.json` (`hf-tokenizers` feature) are a feature away. A chunk's budget holds under
//! the tokenizer it was cut with.

/// Counts the tokens of a text. Implement it to cut chunks for any model:
///
/// ```
/// use extract_convert::{ChunkOptions, Tokenizer, chunks};
/// use extract_model::OutputDocument;
/// /// One token a word.
/// struct Words;
/// impl Tokenizer for Words {
///     fn count(&self, text: &str) -> usize {
///         text.split_whitespace().count()
///     }
///     fn name(&self) -> &str {
///         "words"
///     }
/// }
/// let text = "word ".repeat(100);
/// let document = OutputDocument::from_json(format!(r#"{{"content_tree": {{"uid": "0",
///   "type": "DOCUMENT", "content": null, "children": [
///   {{"uid": "1", "type": "TEXT", "content": "{text}", "children": []}}]}}, "annotations": []}}"#).as_bytes())?;
/// let cut = chunks(&document, &ChunkOptions::default().with_max_tokens(40), &Words)?;
/// assert_eq!(cut.iter().map(|c| c.tokens).collect::<Vec<_>>(), [40, 40, 20]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Tokenizer: Send + Sync {
    /// The number of tokens `text` encodes to (no special tokens added).
    fn count(&self, text: &str) -> usize;

    /// A short name, recorded with the chunks (`estimate`, `cl100k_base`, a file name).
    fn name(&self) -> &str;
}

/// An estimate close to OpenAI's BPE vocabularies on English prose, with no vocabulary to
/// load: a run of letters costs one token per 5 letters begun, a run of digits one per 3,
/// every other visible character one, white space nothing. Text from non-Latin scripts costs
/// one token per character, which over-counts rather than under-counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Estimate;

impl Tokenizer for Estimate {
    fn count(&self, text: &str) -> usize {
        let mut tokens = 0;
        let (mut letters, mut digits) = (0usize, 0usize);
        let flush = |letters: &mut usize, digits: &mut usize| {
            let n = letters.div_ceil(5) + digits.div_ceil(3);
            (*letters, *digits) = (0, 0);
            n
        };
        for c in text.chars() {
            if c.is_ascii_alphabetic() {
                if digits > 0 {
                    tokens += flush(&mut letters, &mut digits);
                }
                letters += 1;
            } else if c.is_ascii_digit() {
                if letters > 0 {
                    tokens += flush(&mut letters, &mut digits);
                }
                digits += 1;
            } else {
                tokens += flush(&mut letters, &mut digits);
                if !c.is_whitespace() {
                    tokens += 1;
                }
            }
        }
        tokens + flush(&mut letters, &mut digits)
    }

    fn name(&self) -> &str {
        "estimate"
    }
}

/// Exact counts with an OpenAI vocabulary (`tiktoken` feature).
#[cfg(feature = "tiktoken")]
pub struct Tiktoken {
    bpe: tiktoken_rs::CoreBPE,
    name: String,
}

#[cfg(feature = "tiktoken")]
impl Tiktoken {
    /// `cl100k_base` (GPT-4, GPT-3.5) or `o200k_base` (GPT-4o and later).
    pub fn named(name: &str) -> Result<Tiktoken, String> {
        let bpe = match name {
            "cl100k_base" | "cl100k" => tiktoken_rs::cl100k_base(),
            "o200k_base" | "o200k" => tiktoken_rs::o200k_base(),
            other => {
                return Err(format!(
                    "unknown vocabulary {other:?}: use cl100k_base or o200k_base"
                ));
            }
        }
        .map_err(|e| format!("cannot load the {name} vocabulary: {e}"))?;
        Ok(Tiktoken {
            bpe,
            name: name.trim_end_matches("_base").to_string() + "_base",
        })
    }
}

#[cfg(feature = "tiktoken")]
impl std::fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiktoken")
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(feature = "tiktoken")]
impl Tokenizer for Tiktoken {
    fn count(&self, text: &str) -> usize {
        self.bpe.encode_ordinary(text).len()
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Exact counts with a Hugging Face `tokenizer.json` (`hf-tokenizers` feature).
#[cfg(feature = "hf-tokenizers")]
pub struct HuggingFace {
    tokenizer: tokenizers::Tokenizer,
    name: String,
}

#[cfg(feature = "hf-tokenizers")]
impl HuggingFace {
    /// Loads a `tokenizer.json` file.
    pub fn from_file(path: &std::path::Path) -> Result<HuggingFace, String> {
        let tokenizer = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| format!("cannot load the tokenizer {}: {e}", path.display()))?;
        let name = path.display().to_string();
        Ok(HuggingFace { tokenizer, name })
    }
}

#[cfg(feature = "hf-tokenizers")]
impl std::fmt::Debug for HuggingFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HuggingFace")
            .field("name", &self.name)
            .finish()
    }
}

#[cfg(feature = "hf-tokenizers")]
impl Tokenizer for HuggingFace {
    fn count(&self, text: &str) -> usize {
        // A text the tokenizer cannot encode counts as one token per byte: never fewer than
        // it could take.
        self.tokenizer
            .encode_fast(text, false)
            .map_or(text.len(), |e| e.len())
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_words_numbers_and_marks() {
        assert_eq!(Estimate.count(""), 0);
        assert_eq!(Estimate.count("   \n"), 0);
        assert_eq!(Estimate.count("Revenue grew."), 2 + 1 + 1);
        assert_eq!(Estimate.count("2025"), 2);
        assert_eq!(Estimate.count("Q4"), 2);
        assert_eq!(Estimate.count("| a | b |"), 5);
        assert_eq!(Estimate.count("日本"), 2);
    }
}
