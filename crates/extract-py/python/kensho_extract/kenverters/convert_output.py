"""kenverters' ``convert_output``: items, text and Markdown of a document."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import _native
from .extract_output_models import ConvertOutputResult

__all__ = [
    "table_to_markdown",
    "convert_output_to_items_list_and_relations",
    "convert_output_to_str",
    "convert_output_to_str_by_page",
    "convert_output_to_markdown",
    "convert_output_to_markdown_by_page",
]


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
