"""Document: parsing from text, bytes and dicts, and its converters."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from kensho_extract import BadInputError, Document

FIXTURE = FIXTURES / "extract_output.json"


def test_text_bytes_and_dicts_give_one_document() -> None:
    text = FIXTURE.read_text()
    from_text = Document.from_json(text)
    assert Document.from_json(text.encode()).to_markdown() == from_text.to_markdown()
    assert Document.from_json(json.loads(text)).to_markdown() == from_text.to_markdown()
    wrapped = {"status": "success", "output": json.loads(text)}
    assert Document.from_json(wrapped).to_markdown() == from_text.to_markdown()
    assert json.loads(from_text.to_json()) == from_text.to_dict()


def test_converters() -> None:
    document = Document.from_json(FIXTURE.read_bytes())
    assert document.to_markdown().startswith("2019\n")
    assert "Generated Toy File Title" in document.to_text()
    assert len(document.pages()) == 1
    [table] = document.tables()
    assert (table.uid, table.category, len(table), len(table.grid[0])) == ("6", "TABLE", 5, 5)
    assert table.to_csv().count("\n") == 5
    assert table.to_markdown().strip().startswith("| Kensho Revenue in millions $ |")
    frame = table.to_pandas()
    assert frame.shape == (4, 5)
    assert list(frame.columns) == table.grid[0]
    chunks = document.chunks(max_tokens=64)
    assert chunks and all(c["tokens"] <= 64 for c in chunks)
    assert chunks[0]["sources"][0]["uid"]
    assert "<table" in document.to_html()
    assert [i["content_id"] for i in document.items()][:2] == ["1", "2"]
    assert all("locations" in i for i in document.items(locations=True))
    assert sum(len(s) for s in document.sections()) == len(document.items())


@pytest.mark.parametrize(
    "data",
    ["not json", b"{\"content_tree\": 5}", {"annotations": []}, 42],
)
def test_what_is_not_a_document(data: object) -> None:
    with pytest.raises(BadInputError):
        Document.from_json(data)  # type: ignore[arg-type]


def test_conversions_that_need_no_boxes_do_not_read_them() -> None:
    """Markdown, text, sections and grids leave locations, text locations and character offsets
    unread (most of a document's objects); what needs them still reads and checks them."""
    from kensho_extract.kenverters import convert_output, output_to_sections, output_to_tables

    document = json.loads((FIXTURES / "extract_output.json").read_text())
    document = document.get("output", document) if "content_tree" not in document else document
    markdown = convert_output.convert_output_to_markdown(document)
    grids = output_to_tables.build_table_grids(document)
    sections = output_to_sections.extract_organized_sections(document)

    def spoil(node: dict) -> None:  # type: ignore[type-arg]
        node["locations"] = "not boxes"
        node["text_node_data"] = {"character_offsets": [["not", "numbers"]]}
        for child in node.get("children", []):
            spoil(child)

    spoiled = json.loads(json.dumps(document))
    spoil(spoiled["content_tree"])
    spoiled["pdf_pages"] = 7
    assert convert_output.convert_output_to_markdown(spoiled) == markdown
    assert output_to_tables.build_table_grids(spoiled) == grids
    assert output_to_sections.extract_organized_sections(spoiled) == sections
    # Reading the whole document, or the pages by their boxes, refuses the spoiled boxes.
    with pytest.raises(BadInputError):
        Document.from_json(spoiled)
    with pytest.raises(BadInputError):
        convert_output.convert_output_to_markdown_by_page(spoiled)
