"""kenverters' ``output_to_sections``."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import _native

__all__ = ["extract_organized_sections"]


def extract_organized_sections(serialized_document: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
    """The items split into sections: a new one before each title or level-1 heading."""
    return _native.kv_sections(serialized_document)
