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

/// The tokenizer a text names, for programs that take the choice as text (a flag, a setting):
/// `estimate`; `cl100k_base` or `o200k_base` (the `tiktoken` feature); or a path ending in
/// `.json`, a Hugging Face `tokenizer.json` (the `hf-tokenizers` feature). It exists whatever
/// the features, so a caller needs no `cfg` of its own: a name this build cannot serve is
/// [`TokenizerError::NotBuilt`], which says the feature.
///
/// ```
/// let tokenizer = extract_convert::tokenizer_named("estimate")?;
/// assert_eq!(tokenizer.count("Revenue grew 4%."), 6);
/// assert!(matches!(
///     extract_convert::tokenizer_named("gpt2"),
///     Err(extract_convert::TokenizerError::Unknown { .. })
/// ));
/// # Ok::<(), extract_convert::TokenizerError>(())
/// ```
pub fn tokenizer_named(name: &str) -> Result<Box<dyn Tokenizer>, TokenizerError> {
    match name {
        "estimate" => Ok(Box::new(Estimate)),
        "cl100k_base" | "cl100k" | "o200k_base" | "o200k" => {
            #[cfg(feature = "tiktoken")]
            return Ok(Box::new(Tiktoken::named(name)?));
            #[cfg(not(feature = "tiktoken"))]
            Err(TokenizerError::NotBuilt {
                name: name.to_string(),
                feature: "tiktoken",
            })
        }
        file if file.ends_with(".json") => {
            #[cfg(feature = "hf-tokenizers")]
            return Ok(Box::new(HuggingFace::from_file(std::path::Path::new(
                file,
            ))?));
            #[cfg(not(feature = "hf-tokenizers"))]
            Err(TokenizerError::NotBuilt {
                name: name.to_string(),
                feature: "hf-tokenizers",
            })
        }
        other => Err(TokenizerError::Unknown {
            name: other.to_string(),
        }),
    }
}

/// Why a tokenizer could not be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenizerError {
    /// Not a tokenizer this crate knows: the names are `estimate`, `cl100k_base`, `o200k_base`,
    /// and paths ending in `.json`.
    #[non_exhaustive]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// A tokenizer this crate has, behind a feature this build was made without.
    #[non_exhaustive]
    NotBuilt {
        /// The name asked for.
        name: String,
        /// The crate feature that brings it (`tiktoken`, `hf-tokenizers`).
        feature: &'static str,
    },
    /// The vocabulary or the `tokenizer.json` file could not be read; `source()` says why.
    #[non_exhaustive]
    Load {
        /// The vocabulary's name or the file's path.
        name: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl std::fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenizerError::Unknown { name } => write!(
                f,
                "unknown tokenizer {name:?}: the names are estimate, cl100k_base, o200k_base and a tokenizer.json file"
            ),
            TokenizerError::NotBuilt { name, feature } => write!(
                f,
                "the tokenizer {name:?} needs the `{feature}` feature, which this build lacks"
            ),
            TokenizerError::Load { name, .. } => write!(f, "cannot load the tokenizer {name}"),
        }
    }
}

impl std::error::Error for TokenizerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TokenizerError::Load { source, .. } => Some(&**source),
            _ => None,
        }
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
    /// `cl100k_base` (GPT-4, GPT-3.5) or `o200k_base` (GPT-4o and later); the `_base` may be
    /// left out.
    pub fn named(name: &str) -> Result<Tiktoken, TokenizerError> {
        let bpe = match name {
            "cl100k_base" | "cl100k" => tiktoken_rs::cl100k_base(),
            "o200k_base" | "o200k" => tiktoken_rs::o200k_base(),
            other => {
                return Err(TokenizerError::Unknown {
                    name: other.to_string(),
                });
            }
        }
        .map_err(|e| TokenizerError::Load {
            name: name.to_string(),
            source: e.into(),
        })?;
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
    pub fn from_file(path: &std::path::Path) -> Result<HuggingFace, TokenizerError> {
        let name = path.display().to_string();
        let tokenizer =
            tokenizers::Tokenizer::from_file(path).map_err(|source| TokenizerError::Load {
                name: name.clone(),
                source,
            })?;
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
