"""The projected row-header tree of each table (kenverters'
``include_table_hierarchy_tree=True``), read from the output dict.

A table's root node holds the rows that belong to no projected row header; each projected row
header (a cell flagged ``is_projected_row_header``) is a node whose children are the projected
headers below it and whose contents are the rows of the regular row headers below it, as the
``row_key_parent`` relations say. Each node's contents are a DataFrame, led by the table's
column-header rows. Built the way kenverters builds it, so the values are the same; unlike
kenverters, a hostile document (relations in a cycle, a span of a billion rows) gets a
``BadInputError`` instead of a hang or a ``RecursionError``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, DefaultDict, Dict, List, Optional, Set, Tuple

from ..errors import BadInputError
from .convert_output import _CELLS
from .extract_output_models import TableDataFrameHierarchyModel

# Nodes whose cells make a table (a table's own children are not searched for tables).
TABLES = frozenset({"TABLE", "TABLE_OF_CONTENTS", "FIGURE_EXTRACTED_TABLE"})
_CELL_STRUCTURES = frozenset({"table_structure", "figure_extracted_table_structure"})
_ROW_KEY_PARENT = "row_key_parent"

# Bounds for hostile documents, per table: nodes built (shared children are built once per
# parent, so relations shaped as a lattice could otherwise multiply), nesting, and the cells
# spans expand to.
_MAX_NODES = 100_000
_MAX_DEPTH = 200
_MAX_CELLS = 1_000_000

Annotation = Dict[str, Any]


def table_hierarchy_trees(
    document: Dict[str, Any], duplicate_merged_cells_content_flag: bool
) -> Dict[str, TableDataFrameHierarchyModel]:
    """Every table's row-header tree by the table's uid."""
    try:
        return _Trees(document, duplicate_merged_cells_content_flag).build()
    except BadInputError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise BadInputError(
            f"not an Extract output document: a table's structure cannot be read ({error!r})"
        ) from None


class _Trees:
    """The document's tables, cell annotations and row_key_parent relations, indexed once."""

    def __init__(self, document: Dict[str, Any], duplicate: bool) -> None:
        self.duplicate = duplicate
        self.cells: Dict[str, List[Dict[str, Any]]] = {}
        _table_cells(document["content_tree"], self.cells, 0)
        annotations = document.get("annotations") or []
        # Every table's cell annotations, in document order; the last of a uid wins.
        self.structures = [a for a in annotations if a.get("type") in _CELL_STRUCTURES]
        self.annotation_of: Dict[str, Annotation] = {}
        for annotation in self.structures:
            for uid in annotation.get("content_uids") or []:
                self.annotation_of[uid] = annotation
        # In a row_key_parent relation the source is the parent, the target the child.
        self.children_of: DefaultDict[str, List[str]] = defaultdict(list)
        self.child_uids: Set[str] = set()
        for annotation in annotations:
            data = annotation.get("data") or {}
            if annotation.get("type") == "relation" and data.get("relation_type") == _ROW_KEY_PARENT:
                self.children_of[data["source_content_uid"]].append(data["target_content_uid"])
                self.child_uids.add(data["target_content_uid"])
        self.projected: Dict[str, List[str]] = {
            table: [
                cell["uid"]
                for cell in cells
                if _flag(self.annotation_of.get(cell["uid"]), "is_projected_row_header")
            ]
            for table, cells in self.cells.items()
        }
        self.all_projected = {uid for uids in self.projected.values() for uid in uids}
        self.nodes = 0
        self.expanded = 0

    def build(self) -> Dict[str, TableDataFrameHierarchyModel]:
        table_of = {cell["uid"]: table for table, cells in self.cells.items() for cell in cells}
        trees = {}
        for table, cells in self.cells.items():
            self.nodes = self.expanded = 0
            rows: DefaultDict[int, List[Annotation]] = defaultdict(list)
            for cell in cells:
                annotation = self.annotation_of.get(cell["uid"])
                if annotation is not None:
                    rows[_row(annotation)].append(annotation)
            projected = self.projected[table]
            top = [
                self._node(uid, rows, set())
                for uid in projected
                if uid not in self.child_uids
            ]
            # Rows already in the tree, as a projected header or below one, are not the root's.
            excluded = {
                _row(self.annotation_of[uid])
                for uid in self.child_uids
                if uid in self.annotation_of and table_of.get(uid) == table
            }
            excluded.update(_row(self.annotation_of[uid]) for uid in projected if uid in self.annotation_of)
            contents = [
                annotation
                for row, annotations in rows.items()
                if row not in excluded
                and not any(_flag(a, "is_column_header") for a in annotations)
                for annotation in annotations
            ]
            texts = {cell["uid"]: cell.get("content") or "" for cell in cells}
            trees[table] = self._frame(
                ("TABLE", table, top, contents), texts, self._column_headers(texts)
            )
        return trees

    def _node(self, uid: str, rows: Dict[int, List[Annotation]], above: Set[str]) -> "_Node":
        """A projected row header's node: projected headers below it as children, the rows of
        the regular row headers below it as contents."""
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise BadInputError(
                "not an Extract output document: its row_key_parent relations make more than "
                f"{_MAX_NODES} row headers in a table"
            )
        if uid in above or len(above) >= _MAX_DEPTH:
            raise BadInputError(
                "not an Extract output document: its row_key_parent relations loop or nest "
                f"deeper than {_MAX_DEPTH} (at uid {uid!r})"
            )
        below = above | {uid}
        children = []
        contents: List[Annotation] = []
        for child in self.children_of.get(uid, []):
            if child in self.all_projected:
                children.append(self._node(child, rows, below))
            else:
                annotation = self.annotation_of.get(child)
                if annotation is not None:
                    contents.extend(rows.get(_row(annotation), []))
        return ("TABLE_CELL", uid, children, contents)

    def _frame(
        self, node: "_Node", texts: Dict[str, str], headers: List[List[str]]
    ) -> TableDataFrameHierarchyModel:
        """A node with its text and its contents as a DataFrame, column headers first."""
        import pandas  # type: ignore[import-untyped, unused-ignore]

        kind, uid, children, contents = node
        grid = self._grid(contents, texts)
        if headers and grid:
            grid = headers + grid
        return TableDataFrameHierarchyModel(
            node_uid=uid,
            node_text=texts.get(uid),
            node_type=kind,
            children=[self._frame(child, texts, headers) for child in children],
            contents=pandas.DataFrame(_padded(grid)),
        )

    def _column_headers(self, texts: Dict[str, str]) -> List[List[str]]:
        """The table's consecutive column-header rows from row 0."""
        headers = [
            a
            for a in self.structures
            if a.get("content_uids")
            and a["content_uids"][0] in texts
            and _flag(a, "is_column_header")
        ]
        rows = self._rows(headers, texts)
        grid: List[List[str]] = []
        while len(grid) in rows:
            grid.append(rows[len(grid)])
        return grid

    def _grid(self, annotations: List[Annotation], texts: Dict[str, str]) -> List[List[str]]:
        rows = self._rows(annotations, texts)
        return [rows[row] for row in sorted(rows)]

    def _rows(self, annotations: List[Annotation], texts: Dict[str, str]) -> Dict[int, List[str]]:
        """Each row's texts in column order, spans expanded (a merged cell's text in every
        cell it covers, or only its top-left one)."""
        entries: DefaultDict[int, List[Tuple[int, str]]] = defaultdict(list)
        for annotation in annotations:
            (row, col) = structure_pair(annotation, "index")
            (rows, cols) = structure_pair(annotation, "span")
            uids = annotation.get("content_uids")
            text = texts.get(uids[0], "") if uids else ""
            self.expanded += max(rows, 0) * max(cols, 0)
            if self.expanded > _MAX_CELLS:
                raise BadInputError(
                    "not an Extract output document: a table's spans cover more than "
                    f"{_MAX_CELLS} cells"
                )
            for r in range(rows):
                for c in range(cols):
                    first = r == 0 and c == 0
                    entries[row + r].append((col + c, text if self.duplicate or first else ""))
        # Stable: cells in one column keep their annotations' order, as kenverters sorts them.
        return {
            row: [text for _, text in sorted(cells, key=lambda e: e[0])]
            for row, cells in entries.items()
        }


# (node type, uid, children, contents)
_Node = Tuple[str, str, List[Any], List[Annotation]]


def _table_cells(node: Dict[str, Any], out: Dict[str, List[Dict[str, Any]]], depth: int) -> None:
    """Each table's cell nodes by the table's uid (a table's own children are not searched)."""
    if depth > _MAX_DEPTH:
        raise BadInputError(f"not an Extract output document: nested deeper than {_MAX_DEPTH}")
    if node["type"] in TABLES:
        out[node["uid"]] = [child for child in node.get("children") or [] if child["type"] in _CELLS]
        return
    for child in node.get("children") or []:
        _table_cells(child, out, depth + 1)


def _flag(annotation: Optional[Annotation], name: str) -> bool:
    return annotation is not None and bool((annotation.get("data") or {}).get(name, False))


def structure_pair(annotation: Annotation, name: str) -> Tuple[int, int]:
    """A cell annotation's ``index`` or ``span``: two whole numbers, or ``BadInputError``."""
    try:
        first, second = annotation["data"][name]
        return int(first), int(second)
    except (KeyError, TypeError, ValueError) as error:
        raise BadInputError(
            f"not an Extract output document: a table cell's {name} is not two whole numbers "
            f"({error!r})"
        ) from None


def _row(annotation: Annotation) -> int:
    return structure_pair(annotation, "index")[0]


def _padded(grid: List[List[str]]) -> List[List[Optional[str]]]:
    """Rows of one length, the short ones ended with None: the frame pandas makes of rows of
    different lengths (it fills them so today, and pandas 4 refuses them)."""
    width = max((len(row) for row in grid), default=0)
    rows: List[List[Optional[str]]] = []
    for row in grid:
        padded: List[Optional[str]] = list(row)
        padded.extend([None] * (width - len(row)))
        rows.append(padded)
    return rows
