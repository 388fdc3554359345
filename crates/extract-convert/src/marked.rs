//! Text that remembers where each stretch of it came from: the seam between the document and
//! every output that cites it (chunks, the Markdown source map).
//!
//! The marks are recorded while the text is written, never searched for afterwards: a sentence
//! that occurs twice in a document still points at the node that produced each copy.

use extract_model::ContentNode;
use serde::Serialize;

use crate::guard::clamp;

/// A box on a page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Region {
    /// 1-based, as a PDF viewer numbers pages.
    pub page: i64,
    /// `[x, y, width, height]`, fractions of the page, origin top-left.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
}

/// A node's boxes that lie on a page (cut to it; boxes that are not numbers or on no page are
/// left out), in the order the output gives them.
pub fn regions(node: &ContentNode) -> Vec<Region> {
    node.locations
        .as_ref()
        .and_then(|l| l.as_deref())
        .unwrap_or_default()
        .iter()
        .filter_map(clamp)
        .map(|(page, bbox)| Region {
            page: page + 1,
            bbox,
        })
        .collect()
}

/// A stretch `start..end` (bytes) of the text, copied from `full[offset..]` of `node`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark<'a> {
    pub node: &'a ContentNode,
    /// The whole text the stretch is part of: the node's content, or a figure cell's value.
    pub full: &'a str,
    pub start: usize,
    pub end: usize,
    /// Where the stretch starts in `full` (bytes).
    pub offset: usize,
    /// A copy made for the reader's sake (a table header repeated in a later part), not the
    /// place where this text is given.
    pub repeated: bool,
}

/// Text with its marks, in order of `start`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Marked<'a> {
    pub text: String,
    pub marks: Vec<Mark<'a>>,
}

impl<'a> Marked<'a> {
    /// Text of no node (separators, Markdown syntax).
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The whole `text` of `node`, marked.
    pub fn push_node(&mut self, node: &'a ContentNode, text: &'a str) {
        let start = self.text.len();
        self.text.push_str(text);
        self.marks.push(Mark {
            node,
            full: text,
            start,
            end: self.text.len(),
            offset: 0,
            repeated: false,
        });
    }

    /// `other` after `glue`, its marks moved along.
    pub fn append(&mut self, glue: &str, other: &Marked<'a>) {
        self.text.push_str(glue);
        let shift = self.text.len();
        self.text.push_str(&other.text);
        self.marks.extend(other.marks.iter().map(|m| Mark {
            start: m.start + shift,
            end: m.end + shift,
            ..*m
        }));
    }

    /// The same text with every mark flagged as a repeated copy.
    pub fn as_repeated(&self) -> Marked<'a> {
        let mut copy = self.clone();
        for mark in &mut copy.marks {
            mark.repeated = true;
        }
        copy
    }

    /// Cuts the text at byte `at` (a char boundary): `self` keeps `..at`, the result is `at..`.
    /// A mark across the cut becomes two marks, each pointing at its part of the node's text.
    pub fn split_off(&mut self, at: usize) -> Marked<'a> {
        let whole = self.text.len();
        let tail_text = self.text.split_off(at);
        let mut head = Vec::new();
        let mut tail = Vec::new();
        let shifted = |mark: Mark<'a>, start: usize| Mark {
            start: start - at,
            end: mark.end - at,
            offset: mark.offset + (start - mark.start),
            ..mark
        };
        for mark in self.marks.drain(..) {
            // An empty mark (a figure with no text) stays before the text that follows it.
            let in_head = if mark.start == mark.end {
                mark.start < at || at == whole
            } else {
                mark.start < at
            };
            let in_tail = if mark.start == mark.end {
                !in_head
            } else {
                mark.end > at
            };
            if in_head {
                head.push(Mark {
                    end: mark.end.min(at),
                    ..mark
                });
            }
            if in_tail {
                tail.push(shifted(mark, mark.start.max(at)));
            }
        }
        self.marks = head;
        Marked {
            text: tail_text,
            marks: tail,
        }
    }

    /// Cuts the text into pieces at the given byte positions (ascending, on char boundaries).
    pub fn split_at_all(mut self, cuts: &[usize]) -> Vec<Marked<'a>> {
        let mut pieces = Vec::with_capacity(cuts.len() + 1);
        for &cut in cuts.iter().rev() {
            let tail = self.split_off(cut);
            pieces.push(tail);
        }
        pieces.push(self);
        pieces.reverse();
        pieces.retain(|p| !p.text.is_empty() || !p.marks.is_empty());
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(uid: &str, text: &str) -> ContentNode {
        serde_json::from_value(serde_json::json!({
            "uid": uid, "type": "TEXT", "content": text, "children": []
        }))
        .expect("node")
    }

    #[test]
    fn a_cut_mark_points_at_each_half_of_its_text() {
        let (a, b) = (node("a", "Hello world. "), node("b", "Bye."));
        let mut text = Marked::default();
        text.push_node(&a, a.content.as_deref().unwrap_or(""));
        text.append("\n", &{
            let mut m = Marked::default();
            m.push_node(&b, b.content.as_deref().unwrap_or(""));
            m
        });
        let tail = text.split_off(6);
        assert_eq!(text.text, "Hello ");
        assert_eq!(tail.text, "world. \nBye.");
        let (head_mark, tail_mark) = (text.marks[0], tail.marks[0]);
        assert_eq!(
            (head_mark.start, head_mark.end, head_mark.offset),
            (0, 6, 0)
        );
        assert_eq!(
            (tail_mark.start, tail_mark.end, tail_mark.offset),
            (0, 7, 6)
        );
        assert_eq!(
            &tail.text[tail_mark.start..tail_mark.end],
            &tail_mark.full[6..13]
        );
        assert_eq!(tail.marks[1].node.uid, "b");
        assert_eq!((tail.marks[1].start, tail.marks[1].end), (8, 12));
    }

    #[test]
    fn cutting_at_a_mark_boundary_leaves_no_empty_marks() {
        let (a, b) = (node("a", "one"), node("b", "two"));
        let mut text = Marked::default();
        text.push_node(&a, "one");
        text.push(" ");
        text.push_node(&b, "two");
        let pieces = text.split_at_all(&[4]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].marks.len(), 1);
        assert_eq!(pieces[1].marks.len(), 1);
        assert_eq!(pieces[1].marks[0].node.uid, "b");
    }
}
