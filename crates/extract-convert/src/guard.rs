//! What a document may ask of a conversion: the bounds that keep values from outside (cell
//! indices and spans, boxes, page numbers) from steering allocation.
//!
//! Converters never fail on such values: an impossible one is skipped, and [`check`] lists
//! every skip so a program (the CLI does) can warn about it. The limits are documented in
//! `docs/limits.md`; each is far above what a real Extract output holds.

use std::collections::HashSet;

use extract_model::{Location, OutputDocument};

use crate::tables::{Place, Structure, is_table};

/// The largest row or column a table cell may reach (index + span).
pub const MAX_TABLE_SIDE: usize = 10_000;

/// The largest 0-based page number a location may carry.
pub const MAX_PAGE_NUMBER: i64 = 1_000_000;

/// Grid cells a table may have: generous for real tables (whose cells tile the grid), and
/// proportional to the cells the document spells out, so a grid is never much larger than its
/// input.
pub(crate) fn table_area_limit(cells: usize) -> usize {
    4096 + 64 * cells
}

/// Bytes spreading merged cells' text may copy in one table, beyond the text itself.
pub(crate) fn spread_budget(text_bytes: usize) -> usize {
    (1 << 20) + 16 * text_bytes
}

/// A cell's place from its annotation, if it is one a table can have.
pub(crate) fn place(index: &[i64], span: &[i64]) -> Option<Place> {
    let n = |v: &[i64], i: usize| v.get(i).and_then(|x| usize::try_from(*x).ok());
    let place = Place {
        index: (n(index, 0)?, n(index, 1)?),
        span: (n(span, 0)?.max(1), n(span, 1)?.max(1)),
    };
    let fits = |start: usize, len: usize| {
        start
            .checked_add(len)
            .is_some_and(|end| end <= MAX_TABLE_SIDE)
    };
    (fits(place.index.0, place.span.0) && fits(place.index.1, place.span.1)).then_some(place)
}

/// The cells a table keeps: in document order, each accepted while the grid stays within
/// [`table_area_limit`]; the rest are skipped. Returns the kept cells and how many were skipped.
pub(crate) fn bounded<T: Copy>(cells: &[(Place, T)]) -> (Vec<(Place, T)>, usize) {
    let limit = table_area_limit(cells.len());
    let (mut rows, mut cols) = (0usize, 0usize);
    let mut kept = Vec::with_capacity(cells.len());
    for cell @ (p, _) in cells {
        let (r, c) = (
            rows.max(p.index.0 + p.span.0),
            cols.max(p.index.1 + p.span.1),
        );
        if r.saturating_mul(c) <= limit {
            (rows, cols) = (r, c);
            kept.push(*cell);
        }
    }
    let skipped = cells.len() - kept.len();
    (kept, skipped)
}

/// A location clamped to the page: `None` when it cannot be drawn (a coordinate that is not a
/// number, or a page number out of range). Boxes are cut to the page, origin top-left.
pub(crate) fn clamp(location: &Location) -> Option<(i64, [f64; 4])> {
    let finite = [location.x, location.y, location.width, location.height]
        .iter()
        .all(|v| v.is_finite());
    if !finite || !(0..=MAX_PAGE_NUMBER).contains(&location.page_number) {
        return None;
    }
    let x = location.x.clamp(0.0, 1.0);
    let y = location.y.clamp(0.0, 1.0);
    let width = location.width.clamp(0.0, 1.0 - x);
    let height = location.height.clamp(0.0, 1.0 - y);
    Some((location.page_number, [x, y, width, height]))
}

/// Something in a document that a conversion leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A `table_structure` annotation whose index or span is impossible (negative, missing, or
    /// past [`MAX_TABLE_SIDE`]).
    BadCell {
        /// The cell uids the annotation names.
        uids: Vec<String>,
    },
    /// Cells of a table skipped because they would make its grid far larger than the table.
    OversizedTable {
        /// The table's uid.
        table: String,
        /// How many cells were left out.
        skipped: usize,
    },
    /// Locations that cannot be placed on a page (not numbers, or a page number out of range).
    BadLocations {
        /// How many.
        count: usize,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::BadCell { uids } => write!(
                f,
                "a table cell annotation ({}) has an impossible index or span; the cell is left out",
                shorten(&uids.join(", "))
            ),
            Warning::OversizedTable { table, skipped } => write!(
                f,
                "table {} would be far larger than its cells; {skipped} cell(s) left out",
                shorten(table)
            ),
            Warning::BadLocations { count } => write!(
                f,
                "{count} location(s) are not on any page (not numbers, or a page number out of range); they are left out of layouts"
            ),
        }
    }
}

/// A value from a document, cut short for a message line.
fn shorten(text: &str) -> String {
    let cut: String = text
        .chars()
        .take(60)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if text.chars().count() > 60 {
        format!("{cut}…")
    } else {
        cut
    }
}

/// What the conversions will leave out of `document`, and why.
pub fn check(document: &OutputDocument) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for annotation in &document.annotations {
        if let extract_model::AnnotationKind::TableCell(cell) = annotation.kind()
            && place(&cell.index, &cell.span).is_none()
        {
            warnings.push(Warning::BadCell {
                uids: annotation.content_uids.clone().unwrap_or_default(),
            });
        }
    }
    let structure = Structure::of(document);
    let mut seen: HashSet<&str> = HashSet::new();
    for table in document.nodes().filter(|n| is_table(&n.r#type)) {
        let skipped = structure.skipped_cells(table);
        if skipped > 0 && seen.insert(&table.uid) {
            warnings.push(Warning::OversizedTable {
                table: table.uid.clone(),
                skipped,
            });
        }
    }
    let node_locations = document
        .nodes()
        .filter_map(|n| n.locations.as_ref().and_then(|l| l.as_deref()))
        .flatten();
    let annotation_locations = document
        .annotations
        .iter()
        .filter_map(|a| a.locations.as_deref())
        .flatten();
    let bad = node_locations
        .chain(annotation_locations)
        .filter(|l| clamp(l).is_none())
        .count();
    if bad > 0 {
        warnings.push(Warning::BadLocations { count: bad });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_places_are_refused() {
        assert!(place(&[2147483647, 0], &[1, 1]).is_none());
        assert!(place(&[0, 0], &[100000, 100000]).is_none());
        assert!(place(&[-1, 0], &[1, 1]).is_none());
        assert!(place(&[0], &[1, 1]).is_none());
        assert!(place(&[0, 0], &[i64::MAX, 1]).is_none());
        assert_eq!(
            place(&[3, 4], &[0, 2]),
            Some(Place {
                index: (3, 4),
                span: (1, 2)
            })
        );
    }

    #[test]
    fn a_grid_stays_near_its_cell_count() {
        let cell = |r, c, rs, cs| {
            (
                Place {
                    index: (r, c),
                    span: (rs, cs),
                },
                (),
            )
        };
        let cells = [cell(0, 0, 1, 1), cell(9_999, 9_999, 1, 1), cell(1, 1, 1, 1)];
        let (kept, skipped) = bounded(&cells);
        assert_eq!((kept.len(), skipped), (2, 1));
        assert_eq!(kept[1].0.index, (1, 1));
    }

    #[test]
    fn boxes_are_cut_to_the_page() {
        let location = |x: f64, y: f64, width: f64, height: f64, page: i64| {
            serde_json::from_value::<Location>(serde_json::json!({
                "x": x, "y": y, "width": width, "height": height, "page_number": page
            }))
            .expect("location")
        };
        assert_eq!(
            clamp(&location(0.5, 0.5, 1e12, 9.2e18, 0)),
            Some((0, [0.5, 0.5, 0.5, 0.5]))
        );
        assert_eq!(
            clamp(&location(-3.0, 2.0, 0.1, 0.1, 2)),
            Some((2, [0.0, 1.0, 0.1, 0.0]))
        );
        assert_eq!(clamp(&location(0.1, 0.1, 0.1, 0.1, -1)), None);
        assert_eq!(clamp(&location(0.1, 0.1, 0.1, 0.1, i64::MAX)), None);
    }
}
