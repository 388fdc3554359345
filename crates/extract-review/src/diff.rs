//! What changed between two outputs of the same document (a model upgrade, other options):
//! items added, removed and changed, table cells changed, boxes moved beyond a tolerance.
//!
//! Uids are not stable across runs, so items are matched by content: the two reading orders
//! are aligned on (type, text) with Myers' diff; within a changed stretch, items of the same
//! type pair up in order as changed, the rest are added or removed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use extract_model::{NodeType, OutputDocument};
use serde::Serialize;
use similar::{Algorithm, DiffOp};

/// One compared item: a node with text, or a table with its grid.
#[derive(Debug, Clone)]
struct Unit {
    uid: String,
    kind: String,
    text: String,
    grid: Option<Vec<Vec<String>>>,
    page: Option<i64>,
    bbox: Option<[f64; 4]>,
}

fn units(document: &OutputDocument) -> Vec<Unit> {
    let mut grids = extract_convert::tables(document, false).into_iter();
    let mut out = Vec::new();
    for node in document.nodes() {
        let table = matches!(
            node.r#type,
            NodeType::Table | NodeType::TableOfContents | NodeType::FigureExtractedTable
        );
        let cell = matches!(
            node.r#type,
            NodeType::TableCell | NodeType::FigureExtractedTableCell | NodeType::Document
        );
        if cell {
            continue;
        }
        let grid = if table {
            grids.next().map(|(_, t)| t.grid)
        } else {
            None
        };
        let text = match &grid {
            Some(grid) => grid
                .iter()
                .map(|row| row.join("\t"))
                .collect::<Vec<_>>()
                .join("\n"),
            None => node.content.clone().unwrap_or_default(),
        };
        let first = extract_convert::regions(node).into_iter().next();
        if text.is_empty() && first.is_none() {
            continue;
        }
        out.push(Unit {
            uid: node.uid.clone(),
            kind: node.r#type.as_str().to_lowercase(),
            text,
            grid,
            page: first.map(|r| r.page),
            bbox: first.map(|r| r.bbox),
        });
    }
    out
}

/// A table cell whose text changed (or that one grid has and the other lacks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CellChange {
    /// 0-based row.
    pub row: usize,
    /// 0-based column.
    pub col: usize,
    /// The text in the first output.
    pub old: String,
    /// The text in the second.
    pub new: String,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// In the second output only.
    Added {
        /// Its uid in the second output.
        uid: String,
        /// Its type.
        #[serde(rename = "type")]
        kind: String,
        /// Its page, 1-based.
        page: Option<i64>,
        /// Its text.
        text: String,
    },
    /// In the first output only.
    Removed {
        /// Its uid in the first output.
        uid: String,
        /// Its type.
        #[serde(rename = "type")]
        kind: String,
        /// Its page, 1-based.
        page: Option<i64>,
        /// Its text.
        text: String,
    },
    /// The same item, with other text.
    Changed {
        /// Its uid in the first output.
        old_uid: String,
        /// Its uid in the second.
        uid: String,
        /// Its type.
        #[serde(rename = "type")]
        kind: String,
        /// Its page in the second output, 1-based.
        page: Option<i64>,
        /// The first text.
        old_text: String,
        /// The second.
        text: String,
    },
    /// The same table, with cells changed.
    Cells {
        /// Its uid in the first output.
        old_uid: String,
        /// Its uid in the second.
        uid: String,
        /// Its page in the second output, 1-based.
        page: Option<i64>,
        /// `[rows, columns]` of the first grid and of the second.
        shapes: [[usize; 2]; 2],
        /// The cells that differ.
        cells: Vec<CellChange>,
    },
    /// The same item, its box moved more than the tolerance (or to another page).
    Moved {
        /// Its uid in the first output.
        old_uid: String,
        /// Its uid in the second.
        uid: String,
        /// Its type.
        #[serde(rename = "type")]
        kind: String,
        /// `[first, second]` page, 1-based.
        pages: [i64; 2],
        /// The first box.
        old_box: [f64; 4],
        /// The second box.
        #[serde(rename = "box")]
        bbox: [f64; 4],
        /// The largest difference of an edge, in fractions of the page (1 for another page).
        distance: f64,
    },
}

/// Every difference between two outputs, in the second output's reading order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DocumentDiff {
    /// How far (fraction of the page) a box may move before it counts as moved.
    pub tolerance: f64,
    /// Counts: `added`, `removed`, `changed`, `cells` (tables with changed cells), `moved`.
    pub counts: HashMap<&'static str, usize>,
    /// The differences.
    pub changes: Vec<Change>,
}

/// The time the alignment may take before it settles for a coarser one (Myers' diff is
/// quadratic on two documents with nothing in common).
const DEADLINE: Duration = Duration::from_secs(2);

/// Compares two outputs of the same document. `tolerance` is in fractions of the page (0.01
/// is 1% of its width or height).
///
/// ```
/// use extract_model::OutputDocument;
/// let doc = |text: &str, y: f64| OutputDocument::from_json(format!(r#"{{"content_tree": {{"uid": "0",
///   "type": "DOCUMENT", "content": null, "children": [
///   {{"uid": "1", "type": "H1", "content": "Results", "children": [], "locations": [
///     {{"x": 0.1, "y": {y}, "width": 0.5, "height": 0.05, "page_number": 0}}]}},
///   {{"uid": "2", "type": "TEXT", "content": "{text}", "children": []}}]}}, "annotations": []}}"#).as_bytes());
/// let diff = extract_review::diff(&doc("Revenue grew.", 0.1)?, &doc("Revenue fell.", 0.2)?, 0.01);
/// assert_eq!(diff.counts["changed"], 1);
/// assert_eq!(diff.counts["moved"], 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn diff(a: &OutputDocument, b: &OutputDocument, tolerance: f64) -> DocumentDiff {
    let (old, new) = (units(a), units(b));
    let key = |u: &Unit| (u.kind.clone(), u.text.clone());
    let old_keys: Vec<_> = old.iter().map(key).collect();
    let new_keys: Vec<_> = new.iter().map(key).collect();
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old_keys,
        &new_keys,
        Some(Instant::now() + DEADLINE),
    );
    let mut changes = Vec::new();
    for op in ops {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for k in 0..len {
                    if let Some(moved) = moved(&old[old_index + k], &new[new_index + k], tolerance)
                    {
                        changes.push(moved);
                    }
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => changes.extend(old[old_index..old_index + old_len].iter().map(removed)),
            DiffOp::Insert {
                new_index, new_len, ..
            } => changes.extend(new[new_index..new_index + new_len].iter().map(added)),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => pair(
                &old[old_index..old_index + old_len],
                &new[new_index..new_index + new_len],
                &mut changes,
            ),
        }
    }
    let mut counts: HashMap<&'static str, usize> =
        ["added", "removed", "changed", "cells", "moved"]
            .into_iter()
            .map(|k| (k, 0))
            .collect();
    for change in &changes {
        let k = match change {
            Change::Added { .. } => "added",
            Change::Removed { .. } => "removed",
            Change::Changed { .. } => "changed",
            Change::Cells { .. } => "cells",
            Change::Moved { .. } => "moved",
        };
        *counts.entry(k).or_default() += 1;
    }
    DocumentDiff {
        tolerance,
        counts,
        changes,
    }
}

/// Pairs the items of a changed stretch: each old item with the next new item of its type.
fn pair(old: &[Unit], new: &[Unit], changes: &mut Vec<Change>) {
    let mut cursor = 0;
    for unit in old {
        match new[cursor..].iter().position(|n| n.kind == unit.kind) {
            Some(offset) => {
                changes.extend(new[cursor..cursor + offset].iter().map(added));
                changes.push(changed(unit, &new[cursor + offset]));
                cursor += offset + 1;
            }
            None => changes.push(removed(unit)),
        }
    }
    changes.extend(new[cursor..].iter().map(added));
}

fn added(u: &Unit) -> Change {
    Change::Added {
        uid: u.uid.clone(),
        kind: u.kind.clone(),
        page: u.page,
        text: u.text.clone(),
    }
}

fn removed(u: &Unit) -> Change {
    Change::Removed {
        uid: u.uid.clone(),
        kind: u.kind.clone(),
        page: u.page,
        text: u.text.clone(),
    }
}

fn changed(a: &Unit, b: &Unit) -> Change {
    if let (Some(old), Some(new)) = (&a.grid, &b.grid) {
        let rows = old.len().max(new.len());
        let cols = |g: &Vec<Vec<String>>| g.first().map_or(0, Vec::len);
        let width = cols(old).max(cols(new));
        let at = |g: &Vec<Vec<String>>, r: usize, c: usize| {
            g.get(r)
                .and_then(|row| row.get(c))
                .cloned()
                .unwrap_or_default()
        };
        let mut cells = Vec::new();
        for row in 0..rows {
            for col in 0..width {
                let (o, n) = (at(old, row, col), at(new, row, col));
                if o != n {
                    cells.push(CellChange {
                        row,
                        col,
                        old: o,
                        new: n,
                    });
                }
            }
        }
        return Change::Cells {
            old_uid: a.uid.clone(),
            uid: b.uid.clone(),
            page: b.page,
            shapes: [[old.len(), cols(old)], [new.len(), cols(new)]],
            cells,
        };
    }
    Change::Changed {
        old_uid: a.uid.clone(),
        uid: b.uid.clone(),
        kind: b.kind.clone(),
        page: b.page,
        old_text: a.text.clone(),
        text: b.text.clone(),
    }
}

fn moved(a: &Unit, b: &Unit, tolerance: f64) -> Option<Change> {
    let (Some(pa), Some(pb), Some(ba), Some(bb)) = (a.page, b.page, a.bbox, b.bbox) else {
        return None;
    };
    let distance = if pa != pb {
        1.0
    } else {
        let (ax2, ay2) = (ba[0] + ba[2], ba[1] + ba[3]);
        let (bx2, by2) = (bb[0] + bb[2], bb[1] + bb[3]);
        [ba[0] - bb[0], ba[1] - bb[1], ax2 - bx2, ay2 - by2]
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()))
    };
    (distance > tolerance).then(|| Change::Moved {
        old_uid: a.uid.clone(),
        uid: b.uid.clone(),
        kind: b.kind.clone(),
        pages: [pa, pb],
        old_box: ba,
        bbox: bb,
        distance,
    })
}

impl DocumentDiff {
    /// The second output's uids to highlight on its review page, by kind of change.
    pub fn highlights(&self) -> HashMap<String, &'static str> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Added { uid, .. } => Some((uid.clone(), "added")),
                Change::Changed { uid, .. } | Change::Cells { uid, .. } => {
                    Some((uid.clone(), "changed"))
                }
                Change::Moved { uid, .. } => Some((uid.clone(), "moved")),
                Change::Removed { .. } => None,
            })
            .collect()
    }

    /// One line per removed item (they have no box on the second output's pages).
    pub fn removed_lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter_map(|c| match c {
                Change::Removed {
                    kind, page, text, ..
                } => Some(format!(
                    "removed {}{kind}: {}",
                    page_label(*page),
                    clip(text)
                )),
                _ => None,
            })
            .collect()
    }
}

fn page_label(page: Option<i64>) -> String {
    page.map(|p| format!("p.{p} ")).unwrap_or_default()
}

/// A text on one line, at most 70 characters.
fn clip(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(70)
        .collect();
    if text.chars().count() > 70 {
        format!("{line}…")
    } else {
        line
    }
}

/// The diff as a terminal reads it: a summary line, then one line per change.
impl std::fmt::Display for DocumentDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = |k: &str| self.counts.get(k).copied().unwrap_or(0);
        writeln!(
            f,
            "{} added, {} removed, {} changed, {} tables with changed cells, {} moved (beyond {} of the page)",
            n("added"),
            n("removed"),
            n("changed"),
            n("cells"),
            n("moved"),
            self.tolerance
        )?;
        for change in &self.changes {
            match change {
                Change::Added {
                    kind, page, text, ..
                } => writeln!(f, "+ {}{kind}: {}", page_label(*page), clip(text))?,
                Change::Removed {
                    kind, page, text, ..
                } => writeln!(f, "- {}{kind}: {}", page_label(*page), clip(text))?,
                Change::Changed {
                    kind,
                    page,
                    old_text,
                    text,
                    ..
                } => writeln!(
                    f,
                    "~ {}{kind}: {} → {}",
                    page_label(*page),
                    clip(old_text),
                    clip(text)
                )?,
                Change::Cells {
                    page,
                    shapes,
                    cells,
                    ..
                } => {
                    writeln!(
                        f,
                        "~ {}table {}×{} → {}×{}: {} cell(s) changed",
                        page_label(*page),
                        shapes[0][0],
                        shapes[0][1],
                        shapes[1][0],
                        shapes[1][1],
                        cells.len()
                    )?;
                    for cell in cells.iter().take(20) {
                        writeln!(
                            f,
                            "    ({}, {}) {} → {}",
                            cell.row,
                            cell.col,
                            clip(&cell.old),
                            clip(&cell.new)
                        )?;
                    }
                    if cells.len() > 20 {
                        writeln!(f, "    … and {} more", cells.len() - 20)?;
                    }
                }
                Change::Moved {
                    kind,
                    pages,
                    distance,
                    ..
                } => writeln!(
                    f,
                    "> p.{}→{} {kind}: moved {distance:.3} of the page",
                    pages[0], pages[1]
                )?,
            }
        }
        Ok(())
    }
}
