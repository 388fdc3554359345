"""kenverters' ``output_to_tables``: tables as grids of strings and as pandas DataFrames."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from .. import _native
from .extract_output_models import TableGridAndStructure

if TYPE_CHECKING:
    import pandas  # type: ignore[import-untyped, unused-ignore]

__all__ = ["build_table_grids", "extract_pd_dfs_from_output", "convert_table_to_pd_df"]


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
