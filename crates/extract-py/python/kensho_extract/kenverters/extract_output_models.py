"""The result types of kenverters' functions, without pydantic."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "ConvertOutputResult",
    "TableGridAndStructure",
    "ContentSegmentModel",
    "HeaderTreeNodeModel",
    "Cell",
    "Table",
    "TableDataFrameHierarchyModel",
]


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


@dataclass
class ContentSegmentModel:
    """An item under a heading in ``convert_output_to_header_tree``: its category (lower case),
    its text (a table's as Markdown), its locations (dicts of ``height``, ``width``, ``x``,
    ``y``, ``page_number``) and, for a table, its grid."""

    category: str
    text: Optional[str]
    locations: Optional[List[Dict[str, Any]]] = None
    table: Optional[List[List[str]]] = None


@dataclass
class HeaderTreeNodeModel:
    """A heading (or the document root) in ``convert_output_to_header_tree``: the headings
    under it as ``children``, the other items under it as ``contents``."""

    type: str
    text: Optional[str]
    children: List["HeaderTreeNodeModel"]
    locations: Optional[List[Dict[str, Any]]] = None
    contents: Optional[List[ContentSegmentModel]] = None

    def to_dict(self) -> Dict[str, Any]:
        """The tree as plain dicts and lists, as kenverters' ``to_dict`` gives it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "HeaderTreeNodeModel":
        """The tree back from ``to_dict``."""
        contents = data.get("contents")
        return cls(
            type=data["type"],
            text=data.get("text"),
            children=[cls.from_dict(child) for child in data.get("children", [])],
            locations=data.get("locations"),
            contents=None
            if contents is None
            else [ContentSegmentModel(**segment) for segment in contents],
        )


@dataclass
class Cell:
    """A table cell's place in the grid, its locations (dicts, or ``None``) and its header
    flags, from its structure annotation."""

    index: Tuple[int, int]
    span: Tuple[int, int]
    locations: Optional[List[Dict[str, Any]]]
    is_column_header: bool
    is_projected_row_header: bool


@dataclass(eq=False)
class TableDataFrameHierarchyModel:
    """A node of a table's projected row-header tree: the table itself at the root (type
    ``TABLE``, no text), a projected row header below it (type ``TABLE_CELL``, its text). Its
    contents are the rows that belong to it, column-header rows first, as a DataFrame."""

    node_uid: str
    node_text: Optional[str]
    node_type: str
    children: List["TableDataFrameHierarchyModel"]
    contents: "pandas.DataFrame"


class Table(NamedTuple):
    """A table as a DataFrame, with its category, its locations, its cells, and its row-header
    tree when asked for."""

    df: "pandas.DataFrame"
    table_type: str
    locations: Optional[List[Optional[Dict[str, Any]]]] = None
    cells: Optional[List[Cell]] = None
    hierarchy_tree: Optional[TableDataFrameHierarchyModel] = None
