"""kensho-kenverters' converters with the same module layout, names, signatures and results,
computed by kensho-extract's Rust converters: replace ``kensho_kenverters`` by
``kensho_extract.kenverters`` in the import line.

Each function takes the ``output`` dict of an Extract answer, as kenverters does (a whole status
answer ``{"status": …, "output": …}`` is accepted too). Differences, each on purpose, are listed
in ``docs/python.md``: item locations are dicts rather than pydantic models, structure
annotations are the input's own dicts, and hostile documents (impossible indices, unknown node
types) are converted where kenverters raises.
"""
