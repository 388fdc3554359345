"""kenverters' ``output_to_tables``: tables as grids of strings and as pandas DataFrames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .. import _native
from ._table_hierarchy import TABLES, structure_pair, table_hierarchy_trees
from .convert_output import _bare, _locations
from .extract_output_models import Cell, Table, TableGridAndStructure

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "build_table_grids",
    "extract_pd_dfs_from_output",
    "extract_pd_dfs_with_locs_and_table_structure_from_output",
    "convert_table_to_pd_df",
]



def build_table_grids(
    serialized_document: Dict[str, Any],
    duplicate_merged_cells_content_flag: bool = True,
) -> Dict[str, TableGridAndStructure]:
    """Each table by its uid: its category, its grid of strings (a merged cell's text in every
    cell it covers, or only its top-left one) and its cells' structure annotations."""
    return {
        uid: TableGridAndStructure(category, grid, annotations)
        for uid, category, grid, annotations in _native.kv_table_grids(
            serialized_document, duplicate_merged_cells_content_flag
        )
    }


def convert_table_to_pd_df(
    table_grid: List[List[str]], use_first_row_as_header: bool = True
) -> "pandas.DataFrame":
    """A grid as a DataFrame: the first row as the columns when there is more than one row."""
    import pandas  # type: ignore[import-untyped, unused-ignore]

    if use_first_row_as_header and len(table_grid) > 1:
        return pandas.DataFrame(table_grid[1:], columns=table_grid[0])
    return pandas.DataFrame(table_grid)


def extract_pd_dfs_from_output(
    serialized_document: Dict[str, Any],
    duplicate_merged_cells_content_flag: bool = True,
    use_first_row_as_header: bool = True,
    include_figure_extracted_table: bool = False,
) -> List["pandas.DataFrame"]:
    """Every table as a DataFrame, in reading order (figure tables only when asked)."""
    return [
        convert_table_to_pd_df(table.table_string_grid, use_first_row_as_header)
        for table in build_table_grids(
            serialized_document, duplicate_merged_cells_content_flag
        ).values()
        if include_figure_extracted_table
        or table.table_category_type != "FIGURE_EXTRACTED_TABLE"
    ]


def extract_pd_dfs_with_locs_and_table_structure_from_output(
    serialized_document: Dict[str, Any],
    duplicate_merged_cells_content_flag: bool = True,
    use_first_row_as_header: bool = True,
    include_figure_extracted_table: bool = False,
    include_table_hierarchy_tree: bool = False,
) -> List[Table]:
    """Every table as a ``Table``: its DataFrame, category, locations and cells (index, span,
    locations, header flags), in reading order (figure tables only when asked), and with
    ``include_table_hierarchy_tree`` its projected row-header tree."""
    document = _bare(serialized_document)
    grids = build_table_grids(document, duplicate_merged_cells_content_flag)
    locations: Dict[str, List[Optional[Dict[str, Any]]]] = {}
    _table_locations(document["content_tree"], locations)
    trees = (
        table_hierarchy_trees(document, duplicate_merged_cells_content_flag)
        if include_table_hierarchy_tree
        else {}
    )
    return [
        Table(
            df=convert_table_to_pd_df(table.table_string_grid, use_first_row_as_header),
            table_type=table.table_category_type,
            locations=locations.get(uid),
            cells=[_cell(annotation) for annotation in table.table_structure_annotations],
            hierarchy_tree=trees.get(uid),
        )
        for uid, table in grids.items()
        if include_figure_extracted_table
        or table.table_category_type != "FIGURE_EXTRACTED_TABLE"
    ]


def _table_locations(
    node: Dict[str, Any], out: Dict[str, List[Optional[Dict[str, Any]]]]
) -> None:
    """Each table's locations by uid (``[None]`` for a table without), as kenverters maps them:
    a table's own children are not searched."""
    if node["type"] in TABLES:
        found = _locations(node)
        places: List[Optional[Dict[str, Any]]] = [None] if found is None else [*found]
        out[node["uid"]] = places
        return
    for child in node.get("children", []):
        _table_locations(child, out)


def _cell(annotation: Dict[str, Any]) -> Cell:
    data = annotation["data"]
    return Cell(
        index=structure_pair(annotation, "index"),
        span=structure_pair(annotation, "span"),
        locations=_locations(annotation),
        is_column_header=bool(data.get("is_column_header", False)),
        is_projected_row_header=bool(data.get("is_projected_row_header", False)),
    )
