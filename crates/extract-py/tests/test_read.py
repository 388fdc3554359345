"""Reading a document from Python objects agrees with reading its JSON text, for any input
(hypothesis), and no input can crash the interpreter."""

from __future__ import annotations

import gc
import json
import math
from typing import Any, Dict, List

import pytest
from conftest import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from kensho_extract import BadInputError, Document
from kensho_extract.kenverters.convert_output import convert_output_to_markdown

NODE_TYPES = ["DOCUMENT", "TITLE", "TEXT", "TABLE", "TABLE_CELL", "H1", "H2", "PARAGRAPH", "FIGURE", "NEW_KIND", ""]

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
location = st.fixed_dictionaries(
    {"x": finite, "y": finite, "width": finite, "height": finite, "page_number": st.integers(-5, 2**40)}
)
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), finite, st.text(max_size=8))
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
node = st.recursive(
    st.fixed_dictionaries(
        {"uid": st.text(max_size=4), "type": st.sampled_from(NODE_TYPES), "content": st.one_of(st.none(), st.text(max_size=12)), "children": st.just([])},
        optional={"locations": st.one_of(st.none(), st.lists(location, max_size=2)), "extra": json_value},
    ),
    lambda inner: st.fixed_dictionaries(
        {"uid": st.text(max_size=4), "type": st.sampled_from(NODE_TYPES), "content": st.one_of(st.none(), st.text(max_size=12)), "children": st.lists(inner, max_size=4)},
    ),
    max_leaves=20,
)
annotation = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["table_structure", "figure_extracted_table_structure", "relation", "other"]),
        "content_uids": st.lists(st.text(max_size=4), max_size=2),
        "data": st.dictionaries(st.sampled_from(["index", "span", "value", "relation_type"]), json_value, max_size=3),
    }
)
document = st.one_of(
    st.fixed_dictionaries({"content_tree": node, "annotations": st.lists(annotation, max_size=4)}),
    json_value,
)


def outcome(read: Any) -> Any:
    try:
        return json.loads(Document.from_json(read).to_json())
    except BadInputError:
        return "refused"


def same(a: Any, b: Any) -> bool:
    """Equal, floats within one unit in the last place: serde_json's default reading of decimal
    text may round the last bit differently from Python's (exact) float."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=4e-16, abs_tol=0.0) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(document)
def test_objects_read_as_their_json_text_does(data: Any) -> None:
    from_objects, from_text = outcome(data), outcome(json.dumps(data))
    assert same(from_objects, from_text), (from_objects, from_text)


PLACES = ("locations", "text_node_data", "pdf_pages")


def without_places(data: Any) -> Any:
    """`data` with the keys Markdown leaves unread taken out, at every depth."""
    if isinstance(data, dict):
        return {k: without_places(v) for k, v in data.items() if k not in PLACES}
    if isinstance(data, list):
        return [without_places(v) for v in data]
    return data


def markdown_of(read: Any) -> Any:
    try:
        return convert_output_to_markdown(read)
    except BadInputError:
        return "refused"


@settings(max_examples=300, deadline=None)
@given(document, json_value)
def test_markdown_reads_a_document_as_if_its_places_were_not_there(data: Any, places: Any) -> None:
    """Markdown leaves locations, text locations and page sizes unread: whatever they hold, the
    result is that of the document without them, read whole from its JSON text."""
    if isinstance(data, dict) and isinstance(data.get("content_tree"), dict):
        data["content_tree"]["locations"] = places
        data["pdf_pages"] = places
    assert markdown_of(data) == markdown_of(json.dumps(without_places(data)))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_fixtures_read_the_same_from_objects_and_text(path: Any) -> None:
    text = path.read_text()
    assert Document.from_json(json.loads(text)).to_json() == Document.from_json(text).to_json()


def nested(depth: int) -> Dict[str, Any]:
    root: Dict[str, Any] = {"uid": "0", "type": "DOCUMENT", "content": None, "children": []}
    node = root
    for i in range(depth):
        child: Dict[str, Any] = {"uid": str(i + 1), "type": "TEXT", "content": "x", "children": []}
        node["children"].append(child)
        node = child
    return {"content_tree": root, "annotations": []}


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(BadInputError, match="nested deeper"):
        Document.from_json(nested(100_000))
    with pytest.raises(BadInputError, match="nested deeper"):
        convert_output_to_markdown(nested(100_000))
    assert Document.from_json(nested(40)).to_text().count("x") == 40


def test_what_json_cannot_hold_is_refused() -> None:
    base = json.loads((FIXTURES / "extract_output.json").read_text())
    odd: Dict[Any, Any] = dict(base)
    odd[1] = "not a str key"
    with pytest.raises(BadInputError, match="key"):
        Document.from_json(odd)
    with pytest.raises(BadInputError, match="found a set"):
        Document.from_json({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": None, "children": {1}}, "annotations": []})


tree_document = st.fixed_dictionaries(
    {
        "content_tree": node,
        "annotations": st.lists(
            st.one_of(
                annotation,
                st.fixed_dictionaries(
                    {
                        "type": st.just("relation"),
                        "data": st.fixed_dictionaries(
                            {"relation_type": st.just("row_key_parent")},
                            optional={"source_content_uid": st.text(max_size=2), "target_content_uid": st.text(max_size=2)},
                        ),
                    }
                ),
            ),
            max_size=8,
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(tree_document)
def test_tables_with_row_header_trees_read_any_document_or_refuse_it(data: Any) -> None:
    # Any cell places, flags and row_key_parent relations: trees, or BadInputError, never
    # another exception, a hang or a RecursionError.
    from kensho_extract.kenverters.output_to_tables import extract_pd_dfs_with_locs_and_table_structure_from_output

    try:
        tables = extract_pd_dfs_with_locs_and_table_structure_from_output(data, include_table_hierarchy_tree=True)
    except BadInputError:
        return
    # (A table nested in a table has a grid but no tree: kenverters does not look inside tables.)
    assert all(t.hierarchy_tree is None or t.hierarchy_tree.node_type == "TABLE" for t in tables)


def test_a_lone_surrogate_is_refused_in_a_value_and_in_a_key() -> None:
    # UTF-8 cannot hold it, nor can JSON text once read; the interpreter is left clean.
    bad_value = {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": "a\ud800b", "children": []}, "annotations": []}
    bad_key = {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": None, "children": [], "\udfff": 1}, "annotations": []}
    for data in (bad_value, bad_key):
        with pytest.raises(BadInputError, match="surrogate"):
            Document.from_json(data)
        with pytest.raises(BadInputError):
            convert_output_to_markdown(data)
    fine = {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": None, "children": [{"uid": "1", "type": "TITLE", "content": "Straße 😀 ünïcode", "children": []}]}, "annotations": []}
    # Twice: the second read finds the UTF-8 each str kept from the first.
    assert Document.from_json(fine).to_markdown() == "# Straße 😀 ünïcode"
    assert Document.from_json(fine).to_markdown() == "# Straße 😀 ünïcode"


def test_no_garbage_collection_runs_while_a_document_is_read() -> None:
    # A read borrows the document's objects; a collection could run finalizers that change them
    # under it. An int past the i64 range used to make an OverflowError mid-read (an exception
    # is an object the collector tracks, and 3.9-3.11 collect when one is made).
    from kensho_extract import _native

    node = {"uid": "1", "type": "TITLE", "content": "Hi", "children": [], "big": 2**63, "bigger": [2**64 - 1] * 3}
    document = {"content_tree": {"uid": "0", "type": "DOCUMENT", "content": None, "children": [node]}, "annotations": []}
    reading = [False]
    during: List[Any] = []

    def collected(phase: str, info: Any) -> None:
        if phase == "start" and reading[0]:
            during.append(info)

    threshold = gc.get_threshold()
    gc.collect()
    gc.callbacks.append(collected)
    gc.set_threshold(1)
    try:
        for _ in range(5):
            reading[0] = True
            text = _native.kv_text(document)
            reading[0] = False
            assert text == "Hi"
    finally:
        reading[0] = False
        gc.set_threshold(*threshold)
        gc.callbacks.remove(collected)
    assert during == []
    # Past the 64-bit range either way: refused, and the read ends there.
    for wrong in (2**64, -(2**63) - 1):
        node["big"] = wrong
        with pytest.raises(BadInputError):
            Document.from_json(document)


def test_subclasses_of_the_builtins_are_read() -> None:
    class Node(dict):  # type: ignore[type-arg]
        pass

    class Text(str):
        pass

    data = {"content_tree": Node(uid=Text("0"), type="DOCUMENT", content=None, children=[Node(uid="1", type=Text("TITLE"), content=Text("Hi"), children=[])]), "annotations": ()}
    assert Document.from_json(data).to_markdown() == "# Hi"
