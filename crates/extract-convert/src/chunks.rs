//! Chunks for retrieval: the document cut into pieces under a hard token budget, each carrying
//! the headings it sits under, its pages, and for every fragment of its text the node, page
//! and box it came from.
//!
//! How a document is cut, in order of preference:
//! 1. at every heading (a section starts a chunk);
//! 2. between blocks (paragraphs, tables with their captions);
//! 3. between sentences, then between words, then between characters, only inside a block
//!    that does not fit on its own;
//! 4. a table too big for one chunk is cut between rows, its header rows (cells flagged
//!    `is_column_header`) repeated at the top of every part.
//!
//! Undersized neighbours under the same heading are merged afterwards, while they fit.

use extract_model::{ContentNode, OutputDocument};
use serde::Serialize;

use crate::blocks::{Block, blocks, stitch_tables};
use crate::marked::{Mark, Marked, Region, regions};
use crate::tables::{Layout, Slot, Structure};
use crate::tokens::Tokenizer;

/// How to cut chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChunkOptions {
    /// The budget no chunk exceeds, in tokens of the tokenizer used (overlap included).
    pub max_tokens: usize,
    /// Tokens at the start of a chunk repeated from the end of the previous one, when both cut
    /// one section (never across a heading, never into a table part).
    pub overlap: usize,
    /// A chunk under this many tokens is merged with its neighbour under the same heading when
    /// both fit; `None` is a quarter of `max_tokens`.
    pub min_tokens: Option<usize>,
    /// Keep page headers and footers (left out by default: they repeat on every page).
    pub furniture: bool,
    /// Join a table continued on the next page (same columns, repeated header rows) to the
    /// table it continues; off by default.
    pub stitch_tables: bool,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_tokens: 512,
            overlap: 0,
            min_tokens: None,
            furniture: false,
            stitch_tables: false,
        }
    }
}

impl ChunkOptions {
    /// The budget of every chunk.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = max_tokens;
        self
    }
    /// Tokens repeated from the previous chunk of the same section.
    pub fn with_overlap(mut self, overlap: usize) -> Self {
        self.overlap = overlap;
        self
    }
    /// The size under which neighbours are merged.
    pub fn with_min_tokens(mut self, min_tokens: usize) -> Self {
        self.min_tokens = Some(min_tokens);
        self
    }
    /// Whether page headers and footers are kept.
    pub fn with_furniture(mut self, furniture: bool) -> Self {
        self.furniture = furniture;
        self
    }
    /// Whether tables continued on the next page are joined.
    pub fn with_stitch_tables(mut self, stitch_tables: bool) -> Self {
        self.stitch_tables = stitch_tables;
        self
    }
}

/// The smallest budget accepted: room for any single character under any tokenizer.
pub const MIN_CHUNK_TOKENS: usize = 16;

/// One chunk: a line of the `chunks` JSON Lines output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Chunk {
    /// 0-based position in the document.
    pub index: usize,
    /// The text: blocks joined by line breaks, tables as `|` rows (cell text verbatim).
    pub text: String,
    /// Tokens of `text` under the tokenizer used: never more than the budget.
    pub tokens: usize,
    /// The headings the chunk sits under, outermost first.
    pub headings: Vec<String>,
    /// The pages the chunk's sources are on, 1-based, ascending.
    pub pages: Vec<i64>,
    /// Characters at the start of `text` repeated from the previous chunk.
    #[serde(skip_serializing_if = "is_zero")]
    pub overlap: usize,
    /// Where every fragment of `text` came from, in order.
    pub sources: Vec<Source>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A fragment of a chunk's text and the node it came from. Offsets count Unicode characters
/// (code points), as Python's `str` does: `text[start:end] == node_text[offset:offset + end - start]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Source {
    /// The node's uid.
    pub uid: String,
    /// The node's type, lower case.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Where the fragment starts in the chunk's text.
    pub start: usize,
    /// Where it ends (exclusive).
    pub end: usize,
    /// Where it starts in the node's text (0 unless the node was cut).
    pub offset: usize,
    /// The page of the node's first box, 1-based.
    pub page: Option<i64>,
    /// The node's first box: `[x, y, width, height]`, fractions of the page, origin top-left.
    #[serde(rename = "box")]
    pub bbox: Option<[f64; 4]>,
    /// The node's further boxes, when it has several (a paragraph across columns or pages).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<Region>,
    /// A copy for the reader's sake (a table header repeated in a later part, the overlap):
    /// its text is given elsewhere too.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

/// Why a document could not be cut.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// The chunk size ([`ChunkOptions::max_tokens`]) is below the smallest there is.
    #[non_exhaustive]
    MaxTokens {
        /// The size asked for.
        max_tokens: usize,
        /// The smallest size ([`MIN_CHUNK_TOKENS`]).
        min: usize,
    },
    /// The overlap ([`ChunkOptions::overlap`]) is more than half the chunk size.
    #[non_exhaustive]
    Overlap {
        /// The overlap asked for.
        overlap: usize,
        /// The chunk size.
        max_tokens: usize,
    },
    /// A single character of a node takes more tokens than the budget leaves.
    #[non_exhaustive]
    TooSmall {
        /// The node's uid.
        uid: String,
    },
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkError::MaxTokens { max_tokens, min } => write!(
                f,
                "a chunk of at most {max_tokens} tokens is too small: the least is {min}"
            ),
            ChunkError::Overlap {
                overlap,
                max_tokens,
            } => write!(
                f,
                "an overlap of {overlap} tokens is more than half of the chunk size ({max_tokens})"
            ),
            ChunkError::TooSmall { uid } => write!(
                f,
                "a single character of node {uid} takes more tokens than the budget leaves: raise the chunk size or lower the overlap"
            ),
        }
    }
}

impl std::error::Error for ChunkError {}

/// Cuts `document` into chunks under `options`, counting tokens with `tokenizer`.
///
/// ```
/// use extract_convert::{ChunkOptions, Estimate, chunks};
/// use extract_model::OutputDocument;
/// let document = OutputDocument::from_json(br#"{"content_tree": {"uid": "0", "type": "DOCUMENT",
///   "content": null, "children": [
///     {"uid": "1", "type": "H1", "content": "Results", "children": [], "locations": [
///       {"x": 0.1, "y": 0.1, "width": 0.5, "height": 0.05, "page_number": 2}]},
///     {"uid": "2", "type": "PARAGRAPH", "content": "Revenue grew.", "children": []}]},
///   "annotations": []}"#)?;
/// let chunks = chunks(&document, &ChunkOptions::default(), &Estimate)?;
/// assert_eq!(chunks[0].text, "Results\nRevenue grew.");
/// assert_eq!(chunks[0].headings, ["Results"]);
/// assert_eq!(chunks[0].pages, [3]);
/// assert_eq!((chunks[0].sources[1].uid.as_str(), chunks[0].sources[1].start), ("2", 8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn chunks(
    document: &OutputDocument,
    options: &ChunkOptions,
    tokenizer: &dyn Tokenizer,
) -> Result<Vec<Chunk>, ChunkError> {
    if options.max_tokens < MIN_CHUNK_TOKENS {
        return Err(ChunkError::MaxTokens {
            max_tokens: options.max_tokens,
            min: MIN_CHUNK_TOKENS,
        });
    }
    if options.overlap * 2 > options.max_tokens {
        return Err(ChunkError::Overlap {
            overlap: options.overlap,
            max_tokens: options.max_tokens,
        });
    }
    let cutter = Cutter {
        tokenizer,
        room: options.max_tokens - options.overlap,
        max: options.max_tokens,
        line: tokenizer.count("\n"),
    };
    let structure = Structure::of(document);
    let mut drafts: Vec<Draft> = Vec::new();
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut section: Vec<Piece> = Vec::new();
    let mut section_headings: Vec<String> = Vec::new();
    let mut list = blocks(document, options.furniture);
    if options.stitch_tables {
        list = stitch_tables(list, &structure);
    }
    for block in list {
        match block {
            Block::Heading { level, node } => {
                cutter.pack(std::mem::take(&mut section), &section_headings, &mut drafts)?;
                while headings.last().is_some_and(|(l, _)| *l >= level) {
                    headings.pop();
                }
                headings.push((level, node.content.clone().unwrap_or_default()));
                section_headings = headings.iter().map(|(_, h)| h.clone()).collect();
                section.extend(cutter.text(whole(node), "\n")?);
            }
            Block::Text(node) => section.extend(cutter.text(whole(node), "\n")?),
            Block::Captioned {
                node,
                before,
                after,
                continued,
            } if crate::tables::is_table(&node.r#type) => {
                let layout = Layout::stitched(&structure, node, &continued);
                let tables: Vec<&ContentNode> = std::iter::once(node).chain(continued).collect();
                section.extend(cutter.table(&layout, &tables, &before, &after)?);
            }
            Block::Captioned {
                node,
                before,
                after,
                ..
            } => {
                // The figure's own mark (often without text) carries its box.
                let mut figure = lines(&before);
                let content = node.content.as_deref().unwrap_or("");
                if !content.is_empty() && !figure.text.is_empty() {
                    figure.push("\n");
                }
                figure.push_node(node, content);
                if !after.is_empty() {
                    let glue = if figure.text.is_empty() { "" } else { "\n" };
                    figure.append(glue, &lines(&after));
                }
                section.extend(cutter.text(figure, "\n")?);
            }
        }
    }
    cutter.pack(section, &section_headings, &mut drafts)?;
    let min = options.min_tokens.unwrap_or(options.max_tokens / 4);
    let drafts = cutter.merge(drafts, min);
    let drafts = cutter.overlap(drafts, options.overlap);
    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(index, d)| finish(index, d))
        .collect())
}

/// A node's whole text, marked.
fn whole(node: &ContentNode) -> Marked<'_> {
    let mut m = Marked::default();
    m.push_node(node, node.content.as_deref().unwrap_or(""));
    m
}

/// Caption nodes, one a line.
fn lines<'a>(nodes: &[&'a ContentNode]) -> Marked<'a> {
    let mut m = Marked::default();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            m.push("\n");
        }
        m.push_node(node, node.content.as_deref().unwrap_or(""));
    }
    m
}

/// A unit the packer places whole: a block, or part of one.
struct Piece<'a> {
    text: Marked<'a>,
    /// What joins it to the piece before it in a chunk.
    glue: &'static str,
    tokens: usize,
    /// A part of a table: takes no overlap.
    table: bool,
}

/// A chunk before its sources are resolved.
struct Draft<'a> {
    text: Marked<'a>,
    tokens: usize,
    headings: Vec<String>,
    /// The first chunk of its section.
    opens: bool,
    table: bool,
    /// What joined the chunk's first piece to the piece before it.
    glue: &'static str,
    overlap_bytes: usize,
}

struct Cutter<'t> {
    tokenizer: &'t dyn Tokenizer,
    /// The budget before overlap.
    room: usize,
    max: usize,
    /// What a line break between pieces costs.
    line: usize,
}

/// Where a text may be cut, from the most to the least preferred.
#[derive(Clone, Copy)]
enum Level {
    Sentences,
    Words,
    Characters,
}

impl<'t> Cutter<'t> {
    fn count(&self, text: &str) -> usize {
        self.tokenizer.count(text)
    }

    fn piece<'a>(&self, text: Marked<'a>, glue: &'static str, table: bool) -> Piece<'a> {
        let tokens = self.count(&text.text);
        Piece {
            text,
            glue,
            tokens,
            table,
        }
    }

    /// A block of text as pieces within the budget: whole if it fits, else its sentences
    /// (joined back by the packer while they fit), words or characters.
    fn text<'a>(&self, text: Marked<'a>, glue: &'static str) -> Result<Vec<Piece<'a>>, ChunkError> {
        if text.text.is_empty() {
            return Ok(Vec::new());
        }
        let mut parts = Vec::new();
        self.fit(text, Level::Sentences, &mut parts)?;
        Ok(parts
            .into_iter()
            .enumerate()
            .map(|(i, (p, tokens))| Piece {
                text: p,
                glue: if i == 0 { glue } else { "" },
                tokens,
                table: false,
            })
            .collect())
    }

    fn fit<'a>(
        &self,
        text: Marked<'a>,
        level: Level,
        out: &mut Vec<(Marked<'a>, usize)>,
    ) -> Result<(), ChunkError> {
        let tokens = self.count(&text.text);
        if tokens <= self.room {
            out.push((text, tokens));
            return Ok(());
        }
        let (cuts, next) = match level {
            Level::Sentences => (sentence_cuts(&text.text), Level::Words),
            Level::Words => (word_cuts(&text.text), Level::Characters),
            Level::Characters => return self.fit_characters(text, out),
        };
        if cuts.is_empty() {
            return self.fit(text, next, out);
        }
        for part in text.split_at_all(&cuts) {
            self.fit(part, next, out)?;
        }
        Ok(())
    }

    /// The longest prefixes that fit, one after another.
    fn fit_characters<'a>(
        &self,
        mut text: Marked<'a>,
        out: &mut Vec<(Marked<'a>, usize)>,
    ) -> Result<(), ChunkError> {
        // No tokenizer puts more than 32 characters in a token on average over a whole budget:
        // searching a window of that size keeps a hostile run of letters linear.
        let window = self.room.saturating_mul(32);
        while !text.text.is_empty() {
            let bounds: Vec<usize> = text
                .text
                .char_indices()
                .map(|(i, _)| i)
                .skip(1)
                .chain([text.text.len()])
                .take(window)
                .collect();
            // The number of characters whose prefix fits (counts grow with the prefix).
            let fits = bounds.partition_point(|&end| self.count(&text.text[..end]) <= self.room);
            if fits == 0 {
                let uid = text.marks.first().map(|m| m.node.uid.clone());
                return Err(ChunkError::TooSmall {
                    uid: uid.unwrap_or_default(),
                });
            }
            let rest = text.split_off(bounds[fits - 1]);
            let tokens = self.count(&text.text);
            out.push((text, tokens));
            text = rest;
        }
        Ok(())
    }

    /// A table with its captions: one piece if it fits, else parts cut between rows, each
    /// opening with the header rows.
    fn table<'a>(
        &self,
        layout: &Layout<'a>,
        tables: &[&'a ContentNode],
        before: &[&'a ContentNode],
        after: &[&'a ContentNode],
    ) -> Result<Vec<Piece<'a>>, ChunkError> {
        let rows: Vec<Marked<'a>> = layout.slots.iter().map(|row| table_row(row)).collect();
        let width = layout.slots.first().map_or(0, Vec::len);
        let separator = format!("|{}", " --- |".repeat(width));
        let header_rows = layout.header_rows();
        // The table nodes themselves, as marks without text: their boxes.
        let mut anchors = Marked::default();
        for table in tables {
            anchors.push_node(table, "");
        }
        // The header block: header rows (or the first row) and the separator line.
        let split = header_rows.max(1).min(rows.len());
        let mut header = anchors.clone();
        for (i, row) in rows[..split].iter().enumerate() {
            header.append(if i == 0 { "" } else { "\n" }, row);
        }
        if !rows.is_empty() {
            header.push("\n");
            header.push(&separator);
        }
        let (before, after) = (lines(before), lines(after));
        let mut whole = before.clone();
        let glue_header = if whole.text.is_empty() { "" } else { "\n" };
        whole.append(glue_header, &header);
        for row in &rows[split..] {
            whole.append("\n", row);
        }
        if !after.text.is_empty() {
            whole.append(if whole.text.is_empty() { "" } else { "\n" }, &after);
        }
        if whole.text.is_empty() {
            // A table without cells or captions: nothing to read, no chunk.
            return Ok(Vec::new());
        }
        if self.count(&whole.text) <= self.room {
            return Ok(vec![self.piece(whole, "\n", true)]);
        }
        // Parts: the first opens with the captions before and the header, later ones with the
        // header repeated (when the table has header rows and they leave room for a row).
        let repeat = if header_rows > 0 {
            header.as_repeated()
        } else {
            anchors.as_repeated()
        };
        let mut pieces = Vec::new();
        let mut part = Marked::default();
        let mut opening = before;
        opening.append(glue_header, &header);
        for opener in self.bounded(opening)? {
            if !part.text.is_empty() {
                pieces.push(self.piece(std::mem::take(&mut part), "\n", true));
            }
            part = opener;
        }
        for row in &rows[split..] {
            let mut candidate = part.clone();
            candidate.append(if part.text.is_empty() { "" } else { "\n" }, row);
            if self.count(&candidate.text) <= self.room {
                part = candidate;
                continue;
            }
            pieces.push(self.piece(std::mem::take(&mut part), "\n", true));
            let mut fresh = repeat.clone();
            fresh.append(if fresh.text.is_empty() { "" } else { "\n" }, row);
            if self.count(&fresh.text) <= self.room {
                part = fresh;
                continue;
            }
            // A row too big even alone: cut it like text, in parts of its own.
            let mut row_parts = self.bounded(row.clone())?;
            part = row_parts.pop().unwrap_or_default();
            pieces.extend(row_parts.into_iter().map(|p| self.piece(p, "\n", true)));
        }
        if !after.text.is_empty() {
            let mut candidate = part.clone();
            candidate.append("\n", &after);
            if self.count(&candidate.text) <= self.room {
                part = candidate;
            } else {
                pieces.push(self.piece(std::mem::take(&mut part), "\n", true));
                for p in self.bounded(after)? {
                    pieces.push(self.piece(p, "\n", true));
                }
            }
        }
        if !part.text.is_empty() {
            pieces.push(self.piece(part, "\n", true));
        }
        Ok(pieces)
    }

    /// `text` cut into parts within the budget, each part whole text (words joined back).
    fn bounded<'a>(&self, text: Marked<'a>) -> Result<Vec<Marked<'a>>, ChunkError> {
        let mut parts: Vec<Marked<'a>> = Vec::new();
        for piece in self.text(text, "")? {
            if let Some(last) = parts.last_mut() {
                let mut candidate = last.clone();
                candidate.append("", &piece.text);
                if self.count(&candidate.text) <= self.room {
                    *last = candidate;
                    continue;
                }
            }
            parts.push(piece.text);
        }
        Ok(parts)
    }

    /// Packs a section's pieces greedily into drafts within the budget.
    fn pack<'a>(
        &self,
        pieces: Vec<Piece<'a>>,
        headings: &[String],
        drafts: &mut Vec<Draft<'a>>,
    ) -> Result<(), ChunkError> {
        let mut queue: std::collections::VecDeque<Piece<'a>> = pieces.into();
        let mut opens = true;
        while !queue.is_empty() {
            // Take pieces while their summed cost fits...
            let mut take = 0;
            let mut cost = 0;
            for piece in &queue {
                let glue = if take == 0 { 0 } else { self.glue_cost(piece) };
                if take > 0 && cost + glue + piece.tokens > self.room {
                    break;
                }
                cost += glue + piece.tokens;
                take += 1;
            }
            // ...then check the exact count (a tokenizer may not add up) and give back pieces
            // until it fits; one piece alone always fits.
            let (text, tokens) = loop {
                let text = join(queue.iter().take(take));
                let tokens = self.count(&text.text);
                if tokens <= self.room || take == 1 {
                    break (text, tokens);
                }
                take -= 1;
            };
            let (table, glue) = queue.front().map_or((false, ""), |p| (p.table, p.glue));
            queue.drain(..take);
            drafts.push(Draft {
                text,
                tokens,
                headings: headings.to_vec(),
                opens,
                table,
                glue,
                overlap_bytes: 0,
            });
            opens = false;
        }
        Ok(())
    }

    fn glue_cost(&self, piece: &Piece) -> usize {
        if piece.glue.is_empty() { 0 } else { self.line }
    }

    /// Merges a section's opening chunk into the chunk before it when one of them is under
    /// `min` tokens, the first sits under the second's parent heading, and together they fit.
    fn merge<'a>(&self, drafts: Vec<Draft<'a>>, min: usize) -> Vec<Draft<'a>> {
        let mut out: Vec<Draft<'a>> = Vec::with_capacity(drafts.len());
        for draft in drafts {
            if let Some(last) = out.last_mut()
                && draft.opens
                && (last.tokens < min || draft.tokens < min)
                && let Some(parent) = draft.headings.split_last().map(|(_, p)| p)
                && !parent.is_empty()
                && last.headings.starts_with(parent)
            {
                let mut text = last.text.clone();
                text.append("\n", &draft.text);
                let tokens = self.count(&text.text);
                if tokens <= self.room {
                    let common = last
                        .headings
                        .iter()
                        .zip(&draft.headings)
                        .take_while(|(a, b)| a == b)
                        .count();
                    last.headings.truncate(common);
                    last.text = text;
                    last.tokens = tokens;
                    continue;
                }
            }
            out.push(draft);
        }
        out
    }

    /// Opens every chunk that continues a section (other than a table part) with the end of
    /// the chunk before it: whole words, at most `overlap` tokens, within the budget.
    fn overlap<'a>(&self, mut drafts: Vec<Draft<'a>>, overlap: usize) -> Vec<Draft<'a>> {
        if overlap == 0 {
            return drafts;
        }
        for i in 1..drafts.len() {
            if drafts[i].opens || drafts[i].table {
                continue;
            }
            let previous = &drafts[i - 1];
            let own = &previous.text.text[previous.overlap_bytes..];
            let base = previous.overlap_bytes;
            let starts: Vec<usize> = word_cuts(own).into_iter().map(|c| c + base).collect();
            // The earliest word start whose tail fits the overlap and the budget.
            let current = &drafts[i];
            let fitting = starts.iter().copied().find(|&start| {
                let tail = &previous.text.text[start..];
                self.count(tail) <= overlap && {
                    let joined = format!("{tail}{}{}", current.glue, current.text.text);
                    self.count(&joined) <= self.max
                }
            });
            let Some(start) = fitting else { continue };
            let mut tail = previous.text.clone().split_off(start).as_repeated();
            tail.push(current.glue);
            let bytes = tail.text.len();
            tail.append("", &current.text);
            drafts[i].tokens = self.count(&tail.text);
            drafts[i].text = tail;
            drafts[i].overlap_bytes = bytes;
        }
        drafts
    }
}

fn join<'a, 'p>(pieces: impl Iterator<Item = &'p Piece<'a>>) -> Marked<'a>
where
    'a: 'p,
{
    let mut text = Marked::default();
    for (i, piece) in pieces.enumerate() {
        text.append(if i == 0 { "" } else { piece.glue }, &piece.text);
    }
    text
}

/// A table row as `| a | b |`: each cell's text verbatim, once, in its top-left position.
fn table_row<'a>(row: &[Slot<'a>]) -> Marked<'a> {
    let mut m = Marked::default();
    m.push("|");
    for slot in row {
        m.push(" ");
        if let Slot::Start(cell, _) = slot {
            m.push_node(cell.node, cell.text);
        }
        m.push(" |");
    }
    m
}

/// Byte positions where a sentence ends and the next begins: after `.`, `!`, `?` or `…`
/// (and any closing quotes or brackets) followed by white space, and after a line break.
fn sentence_cuts(text: &str) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let ends = matches!(c, '.' | '!' | '?' | '…');
        if ends {
            while let Some(&(_, q)) = chars.peek() {
                if matches!(q, '"' | '\'' | ')' | ']' | '”' | '’' | '»') {
                    chars.next();
                } else {
                    break;
                }
            }
        }
        if ends || c == '\n' {
            let mut saw_space = c == '\n';
            while let Some(&(_, w)) = chars.peek() {
                if w.is_whitespace() {
                    saw_space = true;
                    chars.next();
                } else {
                    break;
                }
            }
            if saw_space && let Some(&(at, _)) = chars.peek() {
                cuts.push(at);
            }
        }
    }
    cuts
}

/// Byte positions where a word begins after white space.
fn word_cuts(text: &str) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut after_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            after_space = true;
        } else {
            if after_space && i > 0 {
                cuts.push(i);
            }
            after_space = false;
        }
    }
    cuts
}

/// The chunk a draft becomes: byte positions turned into character positions, boxes resolved.
fn finish(index: usize, draft: Draft) -> Chunk {
    let text = draft.text.text;
    // Character index at every byte position of the text.
    let mut at = vec![0usize; text.len() + 1];
    let mut n = 0;
    for (i, c) in text.char_indices() {
        for slot in &mut at[i..i + c.len_utf8()] {
            *slot = n;
        }
        n += 1;
    }
    at[text.len()] = n;
    // Pieces of one node cut apart and joined again (sentences of a paragraph) are one source.
    let mut marks: Vec<Mark> = Vec::with_capacity(draft.text.marks.len());
    for mark in draft.text.marks {
        match marks.last_mut() {
            Some(last)
                if std::ptr::eq(last.node, mark.node)
                    && last.repeated == mark.repeated
                    && last.end == mark.start
                    && last.offset + (last.end - last.start) == mark.offset =>
            {
                last.end = mark.end;
            }
            _ => marks.push(mark),
        }
    }
    let mut pages = Vec::new();
    let sources: Vec<Source> = marks
        .iter()
        .map(|mark| source(mark, &at, &mut pages))
        .collect();
    pages.sort_unstable();
    pages.dedup();
    Chunk {
        index,
        tokens: draft.tokens,
        headings: draft.headings,
        pages,
        overlap: at[draft.overlap_bytes],
        sources,
        text,
    }
}

fn source(mark: &Mark, at: &[usize], pages: &mut Vec<i64>) -> Source {
    let regions = regions(mark.node);
    pages.extend(regions.iter().map(|r| r.page));
    let offset = if mark.full.is_char_boundary(mark.offset) {
        mark.full[..mark.offset].chars().count()
    } else {
        mark.offset
    };
    let (first, more) = match regions.split_first() {
        Some((first, more)) => (Some(*first), more.to_vec()),
        None => (None, Vec::new()),
    };
    Source {
        uid: mark.node.uid.clone(),
        node_type: mark.node.r#type.as_str().to_lowercase(),
        start: at[mark.start],
        end: at[mark.end],
        offset,
        page: first.map(|r| r.page),
        bbox: first.map(|r| r.bbox),
        more,
        repeated: mark.repeated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_end_at_stops_followed_by_space() {
        let text = "One. Two! \"Three?\" Four\nfive e.g.x";
        let cuts = sentence_cuts(text);
        let parts: Vec<&str> = cuts
            .iter()
            .scan(0, |from, &to| {
                let part = &text[*from..to];
                *from = to;
                Some(part)
            })
            .collect();
        assert_eq!(parts, ["One. ", "Two! ", "\"Three?\" ", "Four\n"]);
    }

    #[test]
    fn words_start_after_space() {
        assert_eq!(word_cuts("  a bc\td"), [2, 4, 7]);
    }
}
