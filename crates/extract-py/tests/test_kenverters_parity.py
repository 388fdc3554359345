"""Every kensho_extract.kenverters function returns what kenverters 3.2.0 returns, for every
fixture, compared as values (kenverters' pydantic models through model_dump)."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

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


def same_tree(mine: Any, their: Any) -> int:
    """Asserts two row-header trees equal, node by node; how many nodes."""
    assert (mine.node_uid, mine.node_text, mine.node_type) == (their.node_uid, their.node_text, their.node_type)
    assert mine.contents.equals(their.contents), (mine.contents, their.contents)
    assert list(mine.contents.columns) == list(their.contents.columns)
    assert len(mine.children) == len(their.children)
    return 1 + sum(same_tree(m, t) for m, t in zip(mine.children, their.children))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("figures", [False, True])
@pytest.mark.parametrize("duplicate", [True, False])
@pytest.mark.parametrize("trees", [False, True])
def test_dataframes_with_locations_and_cells(path: Path, figures: bool, duplicate: bool, trees: bool) -> None:
    document = load(path)
    theirs = theirs_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
        document, duplicate, include_figure_extracted_table=figures, include_table_hierarchy_tree=trees
    )
    # No warning of ours: rows of different lengths, which pandas fills today and pandas 4
    # refuses (kenverters' own frames still warn), are filled before pandas sees them.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
            document, duplicate, include_figure_extracted_table=figures, include_table_hierarchy_tree=trees
        )
    assert len(ours) == len(theirs)
    for mine, their in zip(ours, theirs):
        assert mine.df.equals(their.df)
        assert list(mine.df.columns) == list(their.df.columns)
        assert mine.table_type == their.table_type
        assert mine.locations == their.locations
        assert [dataclasses.asdict(c) for c in mine.cells or []] == [c.model_dump() for c in their.cells or []]
        if trees:
            same_tree(mine.hierarchy_tree, their.hierarchy_tree)
        else:
            assert mine.hierarchy_tree is None and their.hierarchy_tree is None


def test_a_projected_row_header_tree_has_its_rows() -> None:
    # The one fixture with projected row headers: the tree is not just a root.
    document = load(next(p for p in DOCUMENTS if p.stem == "extract_output_item_relations"))
    tables = ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
        document, include_table_hierarchy_tree=True
    )
    trees = [t.hierarchy_tree for t in tables if t.hierarchy_tree is not None and t.hierarchy_tree.children]
    assert len(trees) == 8, "tables with projected row headers"
    header = trees[0].children[0]
    assert (header.node_type, header.node_text) == ("TABLE_CELL", "French PEG")
    # Its rows are the root's (the fixture has no row_key_parent relations), headers first.
    assert trees[0].node_type == "TABLE" and len(trees[0].contents) == 23


@pytest.mark.parametrize(
    "relations, regular",
    [
        ([("1", "2"), ("2", "3")], {}),
        ([("1", "2")], {"2": (1, 2)}),
        ([("1", "2"), ("1", "3")], {"2": (1, 2), "3": (1, 1)}),
        ([], {"3": (1, 1)}),
    ],
)
def test_row_header_trees_from_relations(relations: List[Tuple[str, str]], regular: Dict[str, Tuple[int, int]]) -> None:
    document = row_header_document(relations, regular)
    for duplicate in (True, False):
        (theirs,) = theirs_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
            document, duplicate, include_table_hierarchy_tree=True
        )
        (ours,) = ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output(
            document, duplicate, include_table_hierarchy_tree=True
        )
        assert same_tree(ours.hierarchy_tree, theirs.hierarchy_tree) == 1 + sum(
            1 for i in "123" if i not in regular and i not in {t for _, t in relations}
        ) + sum(1 for _, t in relations if t not in regular)


def row_header_document(relations: List[Tuple[str, str]], regular: Dict[str, Tuple[int, int]] = {}) -> Dict[str, Any]:
    """A table of cells 1-3 in rows 0-2 with the given row_key_parent relations: projected row
    headers, but those in ``regular``, which are plain row headers with the span given."""
    cells = [{"uid": str(i), "type": "TABLE_CELL", "content": f"h{i}", "children": []} for i in (1, 2, 3)]
    structures = [
        {
            "type": "table_structure",
            "content_uids": [str(i)],
            "data": {"index": [i - 1, 0], "span": list(regular.get(str(i), (1, 1))), "is_projected_row_header": str(i) not in regular},
        }
        for i in (1, 2, 3)
    ]
    links = [
        {"type": "relation", "data": {"relation_type": "row_key_parent", "source_content_uid": s, "target_content_uid": t}}
        for s, t in relations
    ]
    tree = {"uid": "0", "type": "DOCUMENT", "content": None, "children": [{"uid": "t", "type": "TABLE", "content": None, "children": cells}]}
    return {"content_tree": tree, "annotations": structures + links}


def test_row_header_relations_in_a_loop_are_refused_not_a_hang() -> None:
    from kensho_extract import BadInputError

    call = ours_tables.extract_pd_dfs_with_locs_and_table_structure_from_output
    nested = call(row_header_document([("1", "2"), ("2", "3")]), include_table_hierarchy_tree=True)
    tree = nested[0].hierarchy_tree
    assert tree is not None and [c.node_uid for c in tree.children] == ["1"]
    assert tree.children[0].children[0].children[0].node_text == "h3"
    # 1 -> 2 -> 3 -> 2: 1 is the top, and the loop below it is refused.
    with pytest.raises(BadInputError, match="loop"):
        call(row_header_document([("1", "2"), ("2", "3"), ("3", "2")]), include_table_hierarchy_tree=True)
    # A plain row header below 1, its rows 1's contents: spans are expanded, within bounds.
    fine = call(row_header_document([("1", "2")], {"2": (1, 2)}), include_table_hierarchy_tree=True)
    tree = fine[0].hierarchy_tree
    assert tree is not None and tree.children[0].contents.values.tolist() == [["h2", "h2"]]
    with pytest.raises(BadInputError, match="1000000 cells"):
        call(row_header_document([("1", "2")], {"2": (10**9, 10**9)}), include_table_hierarchy_tree=True)
    # A cell index that is not a pair: the grids leave the cell out; its Cell, as kenverters
    # (pydantic) does, refuses it.
    broken = row_header_document([("1", "2")], {"2": (1, 1)})
    broken["annotations"][1]["data"]["index"] = [1]
    assert ours_tables.build_table_grids(broken)["t"].table_string_grid == [["h1"], [""], ["h3"]]
    for tree in (False, True):
        with pytest.raises(BadInputError, match="index is not two whole numbers"):
            call(broken, include_table_hierarchy_tree=tree)


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
