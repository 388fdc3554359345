"""kenverters code, moved over by changing its import lines."""

import json
import sys

from kensho_extract.kenverters.convert_output import convert_output_to_markdown
from kensho_extract.kenverters.output_to_tables import build_table_grids

with open(sys.argv[1]) as file:
    output = json.load(file)
print(convert_output_to_markdown(output))
for uid, table in build_table_grids(output).items():
    print(uid, table.table_category_type, len(table.table_string_grid), "rows")
