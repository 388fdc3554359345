"""Every kensho_extract.kenverters function returns what kenverters 3.2.0 returns, for every
fixture, compared as values (kenverters' pydantic models through model_dump)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import FIXTURES

kenverters = pytest.importorskip("kensho_kenverters")
from kensho_kenverters import convert_output as theirs_convert  # noqa: E402
from kensho_kenverters import output_to_sections as theirs_sections  # noqa: E402
from kensho_kenverters import output_to_tables as theirs_tables  # noqa: E402
from kensho_kenverters.extract_output_models import TableStructureAnnotationModel  # noqa: E402

from kensho_extract.kenverters import convert_output as ours_convert  # noqa: E402
from kensho_extract.kenverters import output_to_sections as ours_sections  # noqa: E402
from kensho_extract.kenverters import output_to_tables as ours_tables  # noqa: E402

DOCUMENTS = sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(path.read_text())
    return data.get("output", data) if "content_tree" not in data else data


def dumped(items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Items with their locations as plain dicts (kenverters gives LocationModel objects)."""
    out = []
    for item in items:
        item = dict(item)
        if item.get("locations") is not None:
            item["locations"] = [
                loc.model_dump() if hasattr(loc, "model_dump") else {k: float(v) if k != "page_number" else v for k, v in loc.items()}
                for loc in item["locations"]
            ]
        out.append(item)
    return out


def test_there_are_fixtures() -> None:
    assert len(DOCUMENTS) >= 8


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("locations", [False, True])
@pytest.mark.parametrize("relations", [False, True])
def test_items_and_relations(path: Path, locations: bool, relations: bool) -> None:
    document = load(path)
    theirs = theirs_convert.convert_output_to_items_list_and_relations(document, locations, relations)
    ours = ours_convert.convert_output_to_items_list_and_relations(document, locations, relations)
    assert dumped(ours.item_list) == dumped(theirs.item_list)
    assert ours.relations == theirs.relations


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize(
    "name",
    [
        "convert_output_to_str",
        "convert_output_to_str_by_page",
        "convert_output_to_markdown",
        "convert_output_to_markdown_by_page",
    ],
)
def test_text_and_markdown(path: Path, name: str) -> None:
    document = load(path)
    assert getattr(ours_convert, name)(document) == getattr(theirs_convert, name)(document)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_sections(path: Path) -> None:
    document = load(path)
    assert ours_sections.extract_organized_sections(document) == theirs_sections.extract_organized_sections(document)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("duplicate", [True, False])
def test_table_grids(path: Path, duplicate: bool) -> None:
    document = load(path)
    theirs = theirs_tables.build_table_grids(document, duplicate)
    ours = ours_tables.build_table_grids(document, duplicate)
    assert list(ours) == list(theirs)
    for uid, table in theirs.items():
        mine = ours[uid]
        assert mine.table_category_type == table.table_category_type
        assert mine.table_string_grid == table.table_string_grid
        assert [
            TableStructureAnnotationModel.model_validate(a).model_dump() for a in mine.table_structure_annotations
        ] == [a.model_dump() for a in table.table_structure_annotations]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_dataframes(path: Path) -> None:
    document = load(path)
    for figures in (False, True):
        theirs = theirs_tables.extract_pd_dfs_from_output(document, include_figure_extracted_table=figures)
        ours = ours_tables.extract_pd_dfs_from_output(document, include_figure_extracted_table=figures)
        assert len(ours) == len(theirs)
        for mine, their in zip(ours, theirs):
            assert mine.equals(their)
            assert list(mine.columns) == list(their.columns)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("contents", [True, False])
def test_header_tree(path: Path, contents: bool) -> None:
    from kensho_extract.kenverters.extract_output_models import HeaderTreeNodeModel

    document = load(path)
    try:
        theirs = theirs_convert.convert_output_to_header_tree(document, contents).to_dict()
    except (KeyError, ValueError):  # kenverters fails on tables it cannot place
        pytest.skip("kenverters raises on this document")
    ours = ours_convert.convert_output_to_header_tree(document, contents)
    assert ours.to_dict() == theirs
    assert HeaderTreeNodeModel.from_dict(ours.to_dict()) == ours


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("figures", [False, True])
@pytest.mark.parametrize("duplicate", [True, False])
def test_dataframes_with_locations_and_cells(path: Path, figures: bool, duplicate: bool) -> None:
    document = load(path)
    theirs = theirs_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
        document, duplicate, include_figure_extracted_table=figures
    )
    ours = ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
        document, duplicate, include_figure_extracted_table=figures
    )
    assert len(ours) == len(theirs)
    for mine, their in zip(ours, theirs):
        assert mine.df.equals(their.df)
        assert list(mine.df.columns) == list(their.df.columns)
        assert mine.table_type == their.table_type
        assert mine.locations == their.locations
        assert [dataclasses.asdict(c) for c in mine.cells or []] == [c.model_dump() for c in their.cells or []]
        assert mine.hierarchy_tree is None and their.hierarchy_tree is None


def test_the_row_header_tree_is_refused_not_faked() -> None:
    document = load(DOCUMENTS[0])
    with pytest.raises(NotImplementedError, match="include_table_hierarchy_tree"):
        ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
            document, include_table_hierarchy_tree=True
        )


def test_table_to_markdown() -> None:
    grid = [["a", "b"], ["1", "2"]]
    assert ours_convert.table_to_markdown(grid) == theirs_convert.table_to_markdown(grid)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("resize", [True, False])
def test_pages_drawn_as_text(path: Path, resize: bool) -> None:
    from kensho_kenverters import convert_output_visual_formatted as theirs_visual

    from kensho_extract.kenverters import convert_output_visual_formatted as ours_visual

    document = load(path)
    ours = ours_visual.convert_output_to_str_formatted(document, resize=resize)
    try:
        theirs = theirs_visual.convert_output_to_str_formatted(document, resize=resize)
    except TypeError:
        # kenverters fails on items without locations and on relation annotations
        # (docs/python.md); ours draws what has a place.
        assert all(page.endswith("=" * 87) for page in ours)
        return
    assert ours == theirs
