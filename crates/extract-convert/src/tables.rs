//! Table grids: each TABLE's cells placed by their `table_structure` annotations, and each
//! FIGURE_EXTRACTED_TABLE's values by theirs.

use std::collections::{BTreeMap, HashMap, HashSet};

use extract_model::{AnnotationKind, ContentNode, NodeType, OutputDocument};
use serde::Serialize;

use crate::anchored::escape_cell;
use crate::guard::{bounded, place, spread_budget};

/// A table as a grid of strings, with what kind of table it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TableGrid {
    /// `TABLE`, `TABLE_OF_CONTENTS` or `FIGURE_EXTRACTED_TABLE`.
    pub category: String,
    /// Rows of cells; cells no annotation covers are empty.
    pub grid: Vec<Vec<String>>,
}

/// Where a cell sits: `(row, col)` and `(rows, cols)` spanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub index: (usize, usize),
    pub span: (usize, usize),
}

/// Node types whose children are table cells.
pub(crate) fn is_table(node_type: &NodeType) -> bool {
    matches!(
        node_type,
        NodeType::Table | NodeType::TableOfContents | NodeType::FigureExtractedTable
    )
}

/// Cell places by content uid (`table_structure`), and figure-table cells by uid (`figure_extracted_table_structure`).
/// Keyed by uids borrowed from the document: a conversion builds one, and a table's cells are
/// most of a document's annotations.
pub(crate) struct Structure<'d> {
    places: HashMap<&'d str, Place>,
    figure_cells: HashMap<&'d str, (Place, String)>,
    /// Cells flagged `is_column_header`.
    headers: HashSet<&'d str>,
}

/// A table cell placed in its grid, with the text it holds (a figure cell's value).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell<'a> {
    pub place: Place,
    pub node: &'a ContentNode,
    pub text: &'a str,
    pub header: bool,
}

impl<'d> Structure<'d> {
    pub(crate) fn of(document: &'d OutputDocument) -> Structure<'d> {
        // A table's cells are most annotations: sized once, never grown.
        let mut places = HashMap::with_capacity(document.annotations.len());
        let mut figure_cells = HashMap::new();
        let mut headers = HashSet::new();
        for annotation in &document.annotations {
            let uids = annotation.content_uids.as_deref().unwrap_or_default();
            match annotation.kind() {
                AnnotationKind::TableCell(cell) => {
                    if let Some(p) = place(&cell.index, &cell.span) {
                        for uid in uids {
                            places.insert(uid.as_str(), p);
                            if cell.is_column_header == Some(true) {
                                headers.insert(uid.as_str());
                            }
                        }
                    }
                }
                AnnotationKind::FigureTableCell(cell) => {
                    if let (Some(p), Some(uid)) = (place(&cell.index, &cell.span), uids.first()) {
                        figure_cells.insert(uid.as_str(), (p, cell.value));
                    }
                }
                _ => {}
            }
        }
        Structure {
            places,
            figure_cells,
            headers,
        }
    }

    /// A table's cells in document order, within the grid bounds (as every conversion keeps
    /// them): TABLE cells with their content, figure-table cells with their values.
    pub(crate) fn cells<'a>(&'a self, table: &'a ContentNode) -> Vec<Cell<'a>> {
        let cells: Vec<(Place, Cell<'a>)> = table
            .children
            .iter()
            .filter_map(|node| {
                let (place, text) = if table.r#type == NodeType::FigureExtractedTable {
                    let (place, value) = self.figure_cells.get(node.uid.as_str())?;
                    (*place, value.as_str())
                } else {
                    (
                        *self.places.get(node.uid.as_str())?,
                        node.content.as_deref().unwrap_or(""),
                    )
                };
                let header = self.headers.contains(node.uid.as_str());
                Some((
                    place,
                    Cell {
                        place,
                        node,
                        text,
                        header,
                    },
                ))
            })
            .collect();
        bounded(&cells).0.into_iter().map(|(_, c)| c).collect()
    }

    /// A table's cells that an annotation places, with their text, and how many cells were
    /// skipped to keep the grid bounded.
    fn placed_cells_counted<'a>(&self, table: &'a ContentNode) -> (Vec<(Place, &'a str)>, usize) {
        let cells: Vec<(Place, &str)> = table
            .children
            .iter()
            .filter_map(|c| {
                Some((
                    *self.places.get(c.uid.as_str())?,
                    c.content.as_deref().unwrap_or(""),
                ))
            })
            .collect();
        let (kept, skipped) = bounded(&cells);
        let figure: Vec<(Place, ())> = table
            .children
            .iter()
            .filter_map(|c| self.figure_cells.get(c.uid.as_str()).map(|(p, _)| (*p, ())))
            .collect();
        (kept, skipped + bounded(&figure).1)
    }

    fn placed_cells<'a>(&self, table: &'a ContentNode) -> Vec<(Place, &'a str)> {
        self.placed_cells_counted(table).0
    }

    /// How many cells of `table` the conversions leave out to keep its grid bounded.
    pub(crate) fn skipped_cells(&self, table: &ContentNode) -> usize {
        self.placed_cells_counted(table).1
    }

    /// The grid of a TABLE node as the items list builds it: every spanned cell gets the
    /// content, trimmed. `None` when the table has no placed cells.
    pub(crate) fn item_grid(&self, table: &ContentNode) -> Option<Vec<Vec<String>>> {
        let cells = self.placed_cells(table);
        if cells.is_empty() {
            return None;
        }
        Some(fill(&cells, true, str::trim))
    }

    /// The grid of a figure-extracted table: the values of its cells' annotations.
    pub(crate) fn figure_grid(&self, table: &ContentNode) -> Vec<Vec<String>> {
        let cells: Vec<(Place, &str)> = table
            .children
            .iter()
            .filter_map(|c| {
                self.figure_cells
                    .get(c.uid.as_str())
                    .map(|(p, v)| (*p, v.as_str()))
            })
            .collect();
        let (cells, _) = bounded(&cells);
        // Figure-table values sit in their own cell only; spans are not spread.
        let single: Vec<(Place, &str)> = cells
            .iter()
            .map(|(p, v)| {
                (
                    Place {
                        index: p.index,
                        span: (1, 1),
                    },
                    *v,
                )
            })
            .collect();
        let mut grid = fill(&single, false, |s| s);
        let (rows, cols) = shape(cells.iter().map(|(p, _)| *p));
        grid.resize_with(rows, Vec::new);
        for row in &mut grid {
            row.resize(cols, String::new());
        }
        grid
    }
}

/// What one position of a table's grid holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot<'a> {
    /// No cell covers it.
    Empty,
    /// A cell starts here, spanning `(rows, cols)` (its span cut where it would overlap a cell
    /// placed before it, so that the layout is always a valid HTML table).
    Start(Cell<'a>, (usize, usize)),
    /// Covered by the span of the cell that starts above or to the left.
    Covered,
}

/// A table's cells laid out on its grid, each text once, at its top-left position.
pub(crate) struct Layout<'a> {
    pub slots: Vec<Vec<Slot<'a>>>,
}

impl<'a> Layout<'a> {
    /// Places `cells` in order; a cell whose top-left position is taken is left out (only a
    /// hostile table has overlapping cells).
    pub(crate) fn of(cells: &[Cell<'a>]) -> Layout<'a> {
        let (rows, cols) = shape(cells.iter().map(|c| c.place));
        let mut slots = vec![vec![Slot::Empty; cols]; rows];
        for cell in cells {
            let (row, col) = cell.place.index;
            if !matches!(slots[row][col], Slot::Empty) {
                continue;
            }
            let free = |slots: &[Vec<Slot>], r: usize, c: usize| matches!(slots[r][c], Slot::Empty);
            let width = (col..col + cell.place.span.1)
                .take_while(|&c| free(&slots, row, c))
                .count();
            let height = (row..row + cell.place.span.0)
                .take_while(|&r| (col..col + width).all(|c| free(&slots, r, c)))
                .count();
            for covered in slots.iter_mut().skip(row).take(height) {
                for slot in covered.iter_mut().skip(col).take(width) {
                    *slot = Slot::Covered;
                }
            }
            slots[row][col] = Slot::Start(*cell, (height, width));
        }
        Layout { slots }
    }

    /// How many leading rows are column headers: rows whose every starting cell is flagged
    /// `is_column_header`, and the rows their spans reach down into.
    pub(crate) fn header_rows(&self) -> usize {
        let mut end = 0;
        for (r, row) in self.slots.iter().enumerate() {
            let starts: Vec<(bool, usize)> = row
                .iter()
                .filter_map(|s| match s {
                    Slot::Start(cell, (rows, _)) => Some((cell.header, *rows)),
                    _ => None,
                })
                .collect();
            if starts.iter().any(|(header, _)| !header) || (starts.is_empty() && r >= end) {
                break;
            }
            end = starts
                .iter()
                .fold(end.max(r + 1), |e, (_, rows)| e.max(r + rows));
        }
        end.min(self.slots.len())
    }

    /// The layout of a table continued by `continued` tables (see `stitch_tables`): their
    /// rows after the repeated header rows, under the first table's rows.
    pub(crate) fn stitched(
        structure: &'a Structure,
        first: &'a ContentNode,
        continued: &[&'a ContentNode],
    ) -> Layout<'a> {
        let mut layout = Layout::of(&structure.cells(first));
        let header = layout.header_rows();
        for next in continued {
            let more = Layout::of(&structure.cells(next));
            layout.slots.extend(more.slots.into_iter().skip(header));
        }
        layout
    }

    /// The texts of a row's cells, trimmed, where they start.
    pub(crate) fn row_text(&self, row: usize) -> Vec<&'a str> {
        self.slots[row]
            .iter()
            .map(|slot| match slot {
                Slot::Start(cell, _) => cell.text.trim(),
                _ => "",
            })
            .collect()
    }

    /// Whether any cell spans more than one position.
    pub(crate) fn has_spans(&self) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|s| matches!(s, Slot::Covered))
    }
}

/// Rows = max(row + rows), cols = max(col + cols).
fn shape(places: impl Iterator<Item = Place>) -> (usize, usize) {
    places.fold((0, 0), |(r, c), p| {
        (r.max(p.index.0 + p.span.0), c.max(p.index.1 + p.span.1))
    })
}

/// A grid of `cells`, each text in its top-left cell and, with `spread`, in every cell it spans
/// (while the copies stay within the table's [`spread_budget`]; past it, top-left only).
fn fill(cells: &[(Place, &str)], spread: bool, clean: impl Fn(&str) -> &str) -> Vec<Vec<String>> {
    let (rows, cols) = shape(cells.iter().map(|(p, _)| *p));
    let mut grid = vec![vec![String::new(); cols]; rows];
    let mut budget = spread_budget(cells.iter().map(|(_, t)| t.len()).sum());
    for (p, text) in cells {
        let copies = (p.span.0 * p.span.1).saturating_mul(clean(text).len());
        let spreads = spread && copies <= budget;
        if spreads {
            budget -= copies;
        }
        let (row_span, col_span) = if spreads { p.span } else { (1, 1) };
        for row in grid.iter_mut().skip(p.index.0).take(row_span) {
            for cell in row.iter_mut().skip(p.index.1).take(col_span) {
                *cell = clean(text).to_string();
            }
        }
    }
    grid
}

/// Every table of the document as a grid, keyed by the table node's uid.
///
/// With `duplicate_spans`, a merged cell's text is copied into every cell it covers; without,
/// only its top-left cell holds it. Figure-extracted tables take the values of their
/// annotations. (kenverters' `build_table_grids`.) Two tables with the same uid keep the last;
/// [`tables`] keeps both.
pub fn table_grids(
    document: &OutputDocument,
    duplicate_spans: bool,
) -> BTreeMap<String, TableGrid> {
    tables(document, duplicate_spans).into_iter().collect()
}

/// Every table of the document as a grid with its node's uid, in reading order (uids are the
/// document's word for it and may repeat).
pub fn tables(document: &OutputDocument, duplicate_spans: bool) -> Vec<(String, TableGrid)> {
    let structure = Structure::of(document);
    document
        .nodes()
        .filter(|n| is_table(&n.r#type))
        .map(|node| {
            let grid = if node.r#type == NodeType::FigureExtractedTable {
                structure.figure_grid(node)
            } else {
                let cells = structure.placed_cells(node);
                fill(&cells, duplicate_spans, |s| s)
            };
            let table = TableGrid {
                category: node.r#type.to_string(),
                grid,
            };
            (node.uid.clone(), table)
        })
        .collect()
}

/// A grid as RFC 4180 CSV: fields quoted when they hold a comma, a quote or a line break,
/// quotes doubled, CRLF line ends.
pub fn grid_to_csv(grid: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in grid {
        let fields: Vec<String> = row
            .iter()
            .map(|field| {
                if field.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", field.replace('"', "\"\""))
                } else {
                    field.clone()
                }
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A grid as a Markdown table: the first row is the header. `|` and line breaks inside a cell
/// are escaped (`\|`, `<br>`) so that a cell cannot break its row.
pub fn grid_to_markdown(grid: &[Vec<String>]) -> String {
    let mut lines = Vec::new();
    for (i, row) in grid.iter().enumerate() {
        let cells: Vec<_> = row.iter().map(|c| escape_cell(c)).collect();
        lines.push(format!("| {} |", cells.join(" | ")));
        if i == 0 {
            lines.push(format!("| {} |", vec!["---"; row.len()].join(" | ")));
        }
    }
    format!("\n{}\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let grid = vec![
            vec!["a".into(), "b,c".into()],
            vec!["say \"hi\"".into(), "two\nlines".into()],
        ];
        assert_eq!(
            grid_to_csv(&grid),
            "a,\"b,c\"\r\n\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn spans_fill_or_not() {
        let cells = [
            (
                Place {
                    index: (0, 0),
                    span: (1, 2),
                },
                "wide",
            ),
            (
                Place {
                    index: (1, 1),
                    span: (1, 1),
                },
                "x",
            ),
        ];
        assert_eq!(
            fill(&cells, true, |s| s),
            [vec!["wide", "wide"], vec!["", "x"]]
        );
        assert_eq!(
            fill(&cells, false, |s| s),
            [vec!["wide", ""], vec!["", "x"]]
        );
    }
}
