"""kenverters' ``convert_output``: items, text and Markdown of a document."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import _native
from .extract_output_models import ContentSegmentModel, ConvertOutputResult, HeaderTreeNodeModel

__all__ = [
    "table_to_markdown",
    "convert_output_to_items_list_and_relations",
    "convert_output_to_str",
    "convert_output_to_str_by_page",
    "convert_output_to_markdown",
    "convert_output_to_markdown_by_page",
    "convert_output_to_header_tree",
]

# The node types that open a level of the header tree.
_HEADINGS = frozenset({"TITLE", "H1", "H2", "H3", "H4", "H5"})
_TABLES = frozenset({"TABLE", "TABLE_OF_CONTENTS"})
_CELLS = frozenset({"TABLE_CELL", "FIGURE_EXTRACTED_TABLE_CELL"})


def table_to_markdown(table: List[List[str]]) -> str:
    """A grid as a Markdown table, as kenverters writes it (a line break before and after)."""
    lines = ["| " + " | ".join(str(cell) for cell in row) + " |" for row in table]
    if lines:
        lines.insert(1, "| " + " | ".join("---" for _ in table[0]) + " |")
    return "\n" + "\n".join(lines) + "\n"


def convert_output_to_items_list_and_relations(
    serialized_document: Dict[str, Any],
    return_locations: bool = False,
    return_relations: bool = False,
) -> ConvertOutputResult:
    """The items in reading order (dicts with ``content_id``, ``category``, ``text``; tables
    with their grid) and, when asked, the ``support`` relations between them."""
    items, relations = _native.kv_items(serialized_document, return_locations, return_relations)
    return ConvertOutputResult(item_list=items, relations=relations)


def convert_output_to_str(serialized_document: Dict[str, Any]) -> str:
    """The text of every item, a line each."""
    return _native.kv_text(serialized_document)


def convert_output_to_str_by_page(serialized_document: Dict[str, Any]) -> List[str]:
    """The text of each page with items on it, in page order."""
    return _native.kv_text_by_page(serialized_document)


def convert_output_to_markdown(serialized_document: Dict[str, Any]) -> str:
    """Markdown: titles and headings as ``#`` lines, tables as pipe tables."""
    return _native.kv_markdown(serialized_document)


def convert_output_to_markdown_by_page(serialized_document: Dict[str, Any]) -> List[str]:
    """The Markdown of each page with items on it, in page order."""
    return _native.kv_markdown_by_page(serialized_document)


def convert_output_to_header_tree(
    serialized_document: Dict[str, Any],
    return_contents: bool = True,
) -> HeaderTreeNodeModel:
    """The headings (``TITLE``, ``H1``-``H5``) as a tree under the document root, each with the
    other items under it as ``contents`` (tables with their grid and their Markdown). Serialize
    with ``to_dict()``, read back with ``HeaderTreeNodeModel.from_dict``."""
    document = _bare(serialized_document)
    # The grids come from the Rust converters; a table's cells hold their stripped text in every
    # position they span, as kenverters builds them here.
    grids = (
        {uid: grid for uid, _, grid, _ in _native.kv_table_grids(document, True)}
        if return_contents
        else {}
    )
    return _header_node(document["content_tree"], grids, return_contents)


def _bare(document: Dict[str, Any]) -> Dict[str, Any]:
    """The output document itself, also from a whole status answer ``{"status", "output"}``."""
    if "content_tree" not in document and "output" in document:
        output: Dict[str, Any] = document["output"]
        return output
    return document


def _locations(node: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    """A node's locations with kenverters' five fields, or ``None``."""
    locations = node.get("locations")
    if locations is None:
        return None
    return [
        {
            "height": float(location["height"]),
            "width": float(location["width"]),
            "x": float(location["x"]),
            "y": float(location["y"]),
            "page_number": int(location["page_number"]),
        }
        for location in locations
    ]


def _header_node(
    node: Dict[str, Any], grids: Dict[str, List[List[str]]], return_contents: bool
) -> HeaderTreeNodeModel:
    children: List[HeaderTreeNodeModel] = []
    contents: List[ContentSegmentModel] = []
    for child in node.get("children", []):
        if child["type"] in _HEADINGS:
            children.append(_header_node(child, grids, return_contents))
        elif return_contents:
            segment = _segment(child, grids)
            if segment is not None:
                contents.append(segment)
    return HeaderTreeNodeModel(
        type=node["type"].lower(),
        text=node.get("content"),
        children=children,
        locations=_locations(node),
        contents=contents if return_contents else None,
    )


def _segment(node: Dict[str, Any], grids: Dict[str, List[List[str]]]) -> Optional[ContentSegmentModel]:
    kind = node["type"]
    if kind in _CELLS:
        return None
    if kind in _TABLES or kind == "FIGURE_EXTRACTED_TABLE":
        grid = grids.get(node["uid"])
        if grid is None:
            return None
        if kind in _TABLES:
            grid = [[cell.strip() for cell in row] for row in grid]
        return ContentSegmentModel(
            category=kind.lower(),
            text=table_to_markdown(grid),
            locations=_locations(node),
            table=grid,
        )
    return ContentSegmentModel(
        category=kind.lower(), text=node.get("content"), locations=_locations(node)
    )
