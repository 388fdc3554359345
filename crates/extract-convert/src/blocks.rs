//! The document as a reader meets it: headings, text, and tables and figures with their
//! captions. Chunks are cut from these blocks.

use std::collections::HashMap;

use extract_model::{AnnotationKind, ContentNode, NodeType, OutputDocument};

use crate::marked::regions;
use crate::tables::{Layout, Structure, is_table};

/// A heading's level: TITLE and H1 are 1, H2 to H5 are 2 to 5.
pub(crate) fn heading_level(node_type: &NodeType) -> Option<usize> {
    Some(match node_type {
        NodeType::Title | NodeType::H1 => 1,
        NodeType::H2 => 2,
        NodeType::H3 => 3,
        NodeType::H4 => 4,
        NodeType::H5 => 5,
        _ => return None,
    })
}

/// Page furniture: repeated on every page, noise for retrieval.
pub(crate) fn is_furniture(node_type: &NodeType) -> bool {
    matches!(node_type, NodeType::PageHeader | NodeType::PageFooter)
}

fn is_figure(node_type: &NodeType) -> bool {
    matches!(
        node_type,
        NodeType::Figure
            | NodeType::Image
            | NodeType::BarChart
            | NodeType::LinePlot
            | NodeType::PieChart
            | NodeType::ScatterPlot
    )
}

/// What a caption describes: which node types it may belong to, and whether it may stand
/// before and after them when no relation says which it belongs to.
struct CaptionOf {
    fits: fn(&NodeType) -> bool,
    before: bool,
    after: bool,
}

fn caption_of(node_type: &NodeType) -> Option<CaptionOf> {
    let tables: fn(&NodeType) -> bool = |t| is_table(t);
    let figures: fn(&NodeType) -> bool = |t| is_figure(t) || *t == NodeType::FigureExtractedTable;
    let (fits, before, after) = match node_type {
        NodeType::TableTitle | NodeType::TableLabel | NodeType::TableOfContentsTitle => {
            (tables, true, false)
        }
        NodeType::TableCaption => (tables, true, true),
        NodeType::TableFooter => (tables, false, true),
        NodeType::FigureTitle | NodeType::FigureLabel | NodeType::ImageLabel => {
            (figures, true, false)
        }
        NodeType::FigureCaption | NodeType::ImageCaption => (figures, true, true),
        NodeType::FigureFooter | NodeType::ImageFooter => (figures, false, true),
        _ => return None,
    };
    Some(CaptionOf {
        fits,
        before,
        after,
    })
}

/// One block of the reading order.
#[derive(Debug)]
pub(crate) enum Block<'a> {
    Heading {
        level: usize,
        node: &'a ContentNode,
    },
    Text(&'a ContentNode),
    /// A table or a figure, with the captions that belong to it, in reading order.
    Captioned {
        node: &'a ContentNode,
        before: Vec<&'a ContentNode>,
        after: Vec<&'a ContentNode>,
        /// Tables continuing this one on the following pages (see [`stitch_tables`]).
        continued: Vec<&'a ContentNode>,
    },
}

/// Every node of the tree in reading order, without descending into tables (their cells
/// belong to them).
pub(crate) fn reading_order(document: &OutputDocument) -> Vec<&ContentNode> {
    let mut out = Vec::new();
    let mut stack = vec![&document.content_tree];
    while let Some(node) = stack.pop() {
        if node.r#type != NodeType::Document {
            out.push(node);
        }
        if !is_table(&node.r#type) {
            stack.extend(node.children.iter().rev());
        }
    }
    out
}

fn has_text(node: &ContentNode) -> bool {
    node.content.as_deref().is_some_and(|t| !t.is_empty())
}

/// The blocks of `document`. Captions join the table or figure a `relation` annotation ties
/// them to, or, without one, the one they stand next to; page headers and footers are left
/// out unless `furniture`.
pub(crate) fn blocks(document: &OutputDocument, furniture: bool) -> Vec<Block<'_>> {
    let order = reading_order(document);
    let position: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.uid.as_str(), i))
        .collect();
    // caption position → target position
    let mut owner: HashMap<usize, usize> = HashMap::new();
    for annotation in &document.annotations {
        if let AnnotationKind::Relation(relation) = annotation.kind()
            && let (Some(&source), Some(&target)) = (
                position.get(relation.source_content_uid.as_str()),
                position.get(relation.target_content_uid.as_str()),
            )
            && let Some(caption) = caption_of(&order[source].r#type)
            && (caption.fits)(&order[target].r#type)
        {
            owner.entry(source).or_insert(target);
        }
    }
    for (i, node) in order.iter().enumerate() {
        let Some(CaptionOf {
            fits,
            before,
            after,
        }) = caption_of(&node.r#type)
        else {
            continue;
        };
        if owner.contains_key(&i) {
            continue;
        }
        // The nearest target across a run of neighbouring captions.
        let near = |range: &mut dyn Iterator<Item = usize>| {
            range
                .take_while(|&j| caption_of(&order[j].r#type).is_some() || fits(&order[j].r#type))
                .find(|&j| fits(&order[j].r#type))
        };
        let target = (before.then(|| near(&mut (i + 1..order.len()))).flatten())
            .or_else(|| after.then(|| near(&mut (0..i).rev())).flatten());
        if let Some(target) = target {
            owner.insert(i, target);
        }
    }
    let mut captions: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&caption, &target) in &owner {
        captions.entry(target).or_default().push(caption);
    }
    let mut blocks = Vec::new();
    for (i, &node) in order.iter().enumerate() {
        if owner.contains_key(&i) || (!furniture && is_furniture(&node.r#type)) {
            continue;
        }
        let mut own = captions.remove(&i).unwrap_or_default();
        own.sort_unstable();
        let captioned = is_table(&node.r#type) || (is_figure(&node.r#type) && !own.is_empty());
        if captioned {
            let (before, after): (Vec<usize>, Vec<usize>) = own.iter().partition(|&&c| c < i);
            let nodes = |list: Vec<usize>| -> Vec<&ContentNode> {
                list.into_iter()
                    .map(|c| order[c])
                    .filter(|n| has_text(n))
                    .collect()
            };
            blocks.push(Block::Captioned {
                node,
                before: nodes(before),
                after: nodes(after),
                continued: Vec::new(),
            });
        } else if !has_text(node) {
            continue;
        } else if let Some(level) = heading_level(&node.r#type) {
            blocks.push(Block::Heading { level, node });
        } else {
            blocks.push(Block::Text(node));
        }
    }
    blocks
}

/// Joins a table continued on the next page to the table it continues: the next table block
/// (page furniture aside) when it starts on the page after the first one ends, has no caption
/// of its own before it, has as many columns, and opens with the first one's header rows.
/// The continuation's repeated header rows are dropped by [`Layout::stitched`].
pub(crate) fn stitch_tables<'a>(
    blocks: Vec<Block<'a>>,
    structure: &Structure<'_>,
) -> Vec<Block<'a>> {
    let mut out: Vec<Block<'a>> = Vec::with_capacity(blocks.len());
    // Where the table being continued is in `out`.
    let mut open: Option<usize> = None;
    for block in blocks {
        if let Block::Text(node) = &block
            && is_furniture(&node.r#type)
        {
            out.push(block);
            continue;
        }
        if let (
            Some(at),
            Block::Captioned {
                node,
                before,
                after,
                continued,
            },
        ) = (open, &block)
            && before.is_empty()
            && continued.is_empty()
            && node.r#type == NodeType::Table
            && let Block::Captioned {
                node: first,
                continued: chain,
                after: first_after,
                ..
            } = &mut out[at]
            && continues(structure, first, chain, node)
        {
            chain.push(node);
            first_after.extend(after.iter().copied());
            continue;
        }
        open = match &block {
            Block::Captioned { node, .. } if node.r#type == NodeType::Table => Some(out.len()),
            _ => None,
        };
        out.push(block);
    }
    out
}

/// Whether `next` continues the table `first` (with its continuations `chain`).
fn continues(
    structure: &Structure<'_>,
    first: &ContentNode,
    chain: &[&ContentNode],
    next: &ContentNode,
) -> bool {
    let last_page = std::iter::once(first)
        .chain(chain.iter().copied())
        .flat_map(regions)
        .map(|r| r.page)
        .max();
    let next_page = regions(next).iter().map(|r| r.page).min();
    let (Some(last_page), Some(next_page)) = (last_page, next_page) else {
        return false;
    };
    if next_page != last_page + 1 {
        return false;
    }
    let head = Layout::of(&structure.cells(first));
    let tail = Layout::of(&structure.cells(next));
    let rows = head.header_rows();
    let width = |l: &Layout| l.slots.first().map_or(0, Vec::len);
    rows > 0
        && width(&head) == width(&tail)
        && tail.slots.len() > rows
        && (0..rows).all(|r| head.row_text(r) == tail.row_text(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_join_their_tables_by_relation_or_by_place() {
        let document = OutputDocument::from_json(
            br#"{"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
                {"uid": "1", "type": "TABLE_TITLE", "content": "Prices", "children": []},
                {"uid": "2", "type": "TEXT", "content": "between", "children": []},
                {"uid": "3", "type": "TABLE", "content": null, "children": []},
                {"uid": "4", "type": "TABLE_FOOTER", "content": "Source: us", "children": []},
                {"uid": "5", "type": "FIGURE_TITLE", "content": "A chart", "children": []},
                {"uid": "6", "type": "FIGURE", "content": null, "children": []},
                {"uid": "7", "type": "PAGE_FOOTER", "content": "page 1", "children": []}]},
              "annotations": [{"type": "relation", "data": {"relation_type": "support",
                "source_content_uid": "1", "target_content_uid": "3"}}]}"#,
        )
        .expect("document");
        let blocks = blocks(&document, false);
        let shape: Vec<String> = blocks
            .iter()
            .map(|b| match b {
                Block::Heading { node, .. } | Block::Text(node) => node.uid.clone(),
                Block::Captioned {
                    node,
                    before,
                    after,
                    ..
                } => format!(
                    "{}[{}|{}]",
                    node.uid,
                    before.iter().map(|n| n.uid.as_str()).collect::<String>(),
                    after.iter().map(|n| n.uid.as_str()).collect::<String>()
                ),
            })
            .collect();
        assert_eq!(shape, ["2", "3[1|4]", "6[5|]"]);
    }
}
