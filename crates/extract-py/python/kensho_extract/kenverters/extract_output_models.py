"""The result types of kenverters' functions, without pydantic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, NamedTuple, Optional

__all__ = ["ConvertOutputResult", "TableGridAndStructure"]


@dataclass
class ConvertOutputResult:
    """Result of ``convert_output_to_items_list_and_relations``."""

    item_list: List[Dict[str, Any]]
    relations: Optional[List[Dict[str, str]]]


class TableGridAndStructure(NamedTuple):
    """A table's category, its grid of strings, and its cells' structure annotations."""

    table_category_type: str
    table_string_grid: List[List[str]]
    table_structure_annotations: List[Dict[str, Any]]
