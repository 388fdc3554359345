"""kenverters' ``convert_output_visual_formatted``: pages drawn as text."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import _native

__all__ = ["PageTooShortException", "convert_output_to_str_formatted"]


class PageTooShortException(Exception):
    """kenverters raises it when a page cannot hold its text; kept for code that catches it
    (these converters grow the page instead, or drop the words that do not fit)."""


def convert_output_to_str_formatted(
    serialized_document: Dict[str, Any],
    page_width: int = 300,
    page_height: int = 100,
    resize: bool = True,
) -> List[str]:
    """One string per page that looks like the page: each item written into its box (items
    without locations are left out), pages closed by a line of ``=``."""
    return _native.kv_visual(serialized_document, page_width, page_height, resize)
