"""Regenerates the kenverters reference outputs the parity tests compare against.

    pip install kensho-kenverters==3.2.0
    python3 crates/extract-convert/tests/reference/generate.py

For every fixture in fixtures/extract-output/, each kenverters conversion is run and its result
written as JSON beside this script: <fixture>.<conversion>.json. A conversion kenverters fails
on is recorded as {"error": "<exception>"}.
"""

import json
import pathlib
import sys

from kensho_kenverters import (
    convert_output,
    convert_output_visual_formatted,
    output_to_sections,
    output_to_tables,
)

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parents[3] / "fixtures" / "extract-output"


def dump_locations(items):
    for item in items:
        if item.get("locations") is not None:
            item["locations"] = [loc.model_dump() for loc in item["locations"]]
    return items


def grids(document, duplicate):
    tables = output_to_tables.build_table_grids(document, duplicate)
    return {
        uid: {"category": t.table_category_type, "grid": t.table_string_grid}
        for uid, t in tables.items()
    }


CONVERSIONS = {
    "items": lambda d: convert_output.convert_output_to_items_list_and_relations(d).item_list,
    "items_locations": lambda d: dump_locations(
        convert_output.convert_output_to_items_list_and_relations(d, return_locations=True).item_list
    ),
    "relations": lambda d: convert_output.convert_output_to_items_list_and_relations(
        d, return_relations=True
    ).relations,
    "text": convert_output.convert_output_to_str,
    "pages": convert_output.convert_output_to_str_by_page,
    "markdown": convert_output.convert_output_to_markdown,
    "markdown_pages": convert_output.convert_output_to_markdown_by_page,
    "sections": output_to_sections.extract_organized_sections,
    "tables": lambda d: grids(d, True),
    "tables_top_left": lambda d: grids(d, False),
    "visual": convert_output_visual_formatted.convert_output_to_str_formatted,
}


def main():
    for fixture in sorted(FIXTURES.glob("*.json")):
        document = json.loads(fixture.read_text())
        if "content_tree" not in document:
            document = document["output"]
        for name, convert in CONVERSIONS.items():
            try:
                result = convert(document)
            except Exception as error:  # recorded, so a difference is a choice, not an accident
                result = {"error": f"{type(error).__name__}: {error}"}
            out = HERE / f"{fixture.stem}.{name}.json"
            out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote references for {len(list(FIXTURES.glob('*.json')))} fixtures", file=sys.stderr)


if __name__ == "__main__":
    main()
