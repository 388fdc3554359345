"""kensho_extract.kenverters against kensho-kenverters, in one process, called the same way
(a dict in; str or a dict of grids out), on every fixture. Prints a Markdown table of the median
time per call and the ratio. Run with a release wheel and kenverters installed:

    python crates/extract-py/bench/kenverters.py fixtures/extract-output
"""

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

from kensho_kenverters import convert_output as k_convert
from kensho_kenverters import output_to_tables as k_tables

from kensho_extract.kenverters import convert_output as o_convert
from kensho_extract.kenverters import output_to_tables as o_tables

BUDGET = 0.5  # seconds of calls per measurement


def median_seconds(call: Callable[[Dict[str, Any]], object], document: Dict[str, Any]) -> float:
    call(document)  # warm up
    started = time.perf_counter()
    call(document)
    once = max(time.perf_counter() - started, 1e-7)
    repeats = max(5, min(2000, int(BUDGET / once)))
    times: List[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        call(document)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    folder = Path(sys.argv[1])
    rows = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        document = data if "content_tree" in data else data["output"]
        for name, theirs, ours in (
            ("markdown", k_convert.convert_output_to_markdown, o_convert.convert_output_to_markdown),
            ("table grids", k_tables.build_table_grids, o_tables.build_table_grids),
        ):
            k = median_seconds(theirs, document)
            o = median_seconds(ours, document)
            rows.append((path.stem, path.stat().st_size, name, k, o))
    print("| fixture | bytes | conversion | kenverters | kensho_extract | speed-up |")
    print("|---|---:|---|---:|---:|---:|")
    for stem, size, name, k, o in rows:
        print(f"| {stem} | {size} | {name} | {k * 1e3:.3f} ms | {o * 1e3:.3f} ms | {k / o:.1f}x |")
    for name in ("markdown", "table grids"):
        ratios = [k / o for _, _, n, k, o in rows if n == name]
        print(f"\n{name}: smallest speed-up {min(ratios):.1f}x, geometric mean "
              f"{statistics.geometric_mean(ratios):.1f}x over {len(ratios)} fixtures")


if __name__ == "__main__":
    main()
