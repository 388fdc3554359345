//! The "visual" plain-text layout: each page drawn as a grid of characters, every text placed
//! by its location (kenverters' `convert_output_to_str_formatted`).

use std::collections::BTreeMap;

use extract_model::{AnnotationKind, Location, NodeType, OutputDocument};

use crate::guard::clamp;

/// How many times the page grows when a text does not fit, and by how much.
const MAX_RETRIES: usize = 10;
const GROWTH: usize = 50;
/// The largest page asked for, in characters each way: a page is drawn as a grid of this many
/// characters, so options from outside must not make it huge.
pub const MAX_VISUAL_SIDE: usize = 2000;
const PAGE_END: &str =
    "=======================================================================================";

/// Options of [`to_visual`]: start from [`VisualOptions::default`] and set fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VisualOptions {
    /// Characters per line. Default 300, at most [`MAX_VISUAL_SIDE`].
    pub page_width: usize,
    /// Lines per page. Default 100, at most [`MAX_VISUAL_SIDE`].
    pub page_height: usize,
    /// Grow the page (by 50 each way, up to 10 times) when a text does not fit its box; when
    /// false, words that do not fit are dropped.
    pub resize: bool,
}

impl Default for VisualOptions {
    fn default() -> Self {
        VisualOptions {
            page_width: 300,
            page_height: 100,
            resize: true,
        }
    }
}

struct Segment<'a> {
    text: &'a str,
    locations: &'a [Location],
}

/// One string per page (in page order) that looks like the page: the top-level items and table
/// cells, each written into its box, then trimmed of common left margin and repeated blank lines,
/// and closed by a line of `=`. Items without locations are left out (kenverters fails on them),
/// and so are locations that are not on a page ([`crate::check`] lists them); boxes are cut to
/// their page. Pages are drawn one at a time, so memory holds one page grid at most.
pub fn to_visual(document: &OutputDocument, options: VisualOptions) -> Vec<String> {
    let pages = placed(&segments(document));
    let mut width = options.page_width.clamp(1, MAX_VISUAL_SIDE);
    let mut height = options.page_height.clamp(1, MAX_VISUAL_SIDE);
    'sizes: for _ in 0..MAX_RETRIES {
        let mut drawn = Vec::with_capacity(pages.len());
        for texts in pages.values() {
            match draw(texts, width, height, options.resize) {
                Some(grid) => drawn.push(clean(&grid)),
                None => {
                    // kenverters grows every page and starts over when one text does not fit.
                    width += GROWTH;
                    height += GROWTH;
                    continue 'sizes;
                }
            }
        }
        return drawn;
    }
    Vec::new()
}

/// A text in a box on its page: `[x, y, width, height]` as fractions of the page.
type Placed<'a> = (&'a str, [f64; 4]);

/// The segments' texts by page, in page order, each page's in document order.
fn placed<'a>(segments: &[Segment<'a>]) -> BTreeMap<i64, Vec<Placed<'a>>> {
    let mut pages: BTreeMap<i64, Vec<Placed<'a>>> = BTreeMap::new();
    for segment in segments {
        for (page, bounds) in segment.locations.iter().filter_map(clamp) {
            pages.entry(page).or_default().push((segment.text, bounds));
        }
    }
    pages
}
/// Top-level items (as kenverters reads them) and the cells of top-level tables.
fn segments(document: &OutputDocument) -> Vec<Segment<'_>> {
    let mut cell_locations: BTreeMap<&str, &[Location]> = BTreeMap::new();
    for annotation in &document.annotations {
        if let AnnotationKind::TableCell(_) = annotation.kind() {
            for uid in annotation.content_uids.iter().flatten() {
                cell_locations.insert(uid, annotation.locations.as_deref().unwrap_or_default());
            }
        }
    }
    let mut segments = Vec::new();
    for node in &document.content_tree.children {
        match node.r#type {
            NodeType::Table | NodeType::TableOfContents => {
                for cell in &node.children {
                    let locations = cell_locations
                        .get(cell.uid.as_str())
                        .copied()
                        .unwrap_or_default();
                    segments.push(Segment {
                        text: cell.content.as_deref().unwrap_or("").trim(),
                        locations,
                    });
                }
            }
            NodeType::FigureExtractedTable => {}
            _ => {
                let locations = node
                    .locations
                    .as_ref()
                    .and_then(|l| l.as_deref())
                    .unwrap_or_default();
                segments.push(Segment {
                    text: node.content.as_deref().unwrap_or(""),
                    locations,
                });
            }
        }
    }
    segments
}

/// Draws one page's texts; `None` when a text did not fit and `resize` asks for a bigger page.
fn draw(texts: &[Placed<'_>], width: usize, height: usize, resize: bool) -> Option<Vec<Vec<char>>> {
    let mut page = vec![vec![' '; width]; height];
    for (text, [x, y, w, h]) in texts {
        // Boxes are within the page (clamped), so every size below is at most the page's.
        let x0 = ((x * width as f64).floor() as usize).min(width);
        let y0 = ((y * height as f64).floor() as usize).min(height);
        let x1 = x0 + ((w * width as f64).ceil() as usize).min(width);
        let y1 = y0 + ((h * height as f64).ceil() as usize).min(height);
        let box_width = (x1 - x0).max(1);
        let box_height = (y1 - y0).max(1);
        let mut boxed = vec![vec![' '; box_width]; box_height];
        let (mut row, mut col) = (0, 0);
        for word in text.split_whitespace() {
            let len = word.chars().count();
            if col + len >= box_width {
                row += 1;
                col = 0;
            }
            if row >= box_height || col + len > box_width {
                if resize {
                    return None;
                }
                break;
            }
            for (i, ch) in word.chars().enumerate() {
                boxed[row][col + i] = ch;
            }
            col += len + 1;
        }
        // Spread the lines over the box when they do not fill it (as kenverters does,
        // comparing with the box's bottom on the page).
        if row + 1 != y1 {
            let used = (row + 1).min(box_height);
            let step = box_height / used;
            let mut spread = vec![vec![' '; box_width]; box_height];
            for (line, text) in boxed.iter().take(used).enumerate() {
                spread[(line * step).min(box_height - 1)] = text.clone();
            }
            boxed = spread;
        }
        for (i, line) in boxed.iter().enumerate() {
            let Some(page_line) = page.get_mut(y0 + i) else {
                break;
            };
            for (j, ch) in line.iter().enumerate() {
                if let Some(cell) = page_line.get_mut(x0 + j) {
                    *cell = *ch;
                }
            }
        }
    }
    Some(page)
}

/// Joins a page's lines: common left margin removed, trailing spaces cut, runs of blank lines
/// kept to one, and the page-end line added.
fn clean(grid: &[Vec<char>]) -> String {
    let margin = grid
        .iter()
        .map(|line| line.iter().take_while(|c| **c == ' ').count())
        .min()
        .unwrap_or(0);
    let mut lines: Vec<String> = Vec::new();
    let mut previous_blank = false;
    for line in grid {
        let text: String = line
            .iter()
            .skip(margin)
            .collect::<String>()
            .trim_end()
            .to_string();
        let blank = text.chars().all(char::is_whitespace);
        if !blank || !previous_blank {
            lines.push(text);
        }
        previous_blank = blank;
    }
    let mut page = lines.join("\n").trim_end().to_string();
    page.push('\n');
    page.push_str(PAGE_END);
    page
}
