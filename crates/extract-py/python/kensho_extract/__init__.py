"""Kensho Extract from Python: a client (one token, a rate budget, polls near the finish,
resumable batches) and converters over the output, built on the kensho-extract Rust crates.

>>> from kensho_extract import Client
>>> markdown = Client.from_env().extract("report.pdf").to_markdown()  # doctest: +SKIP

``kensho_extract.kenverters`` has kensho-kenverters' functions, names and results: moving over
is a change of one import line.
"""

from __future__ import annotations

from ._native import BatchReport, Client, Document, Job, JobStatus, Table, __version__
from .errors import (
    ApiError,
    AuthError,
    BadInputError,
    ExtractTimeoutError,
    JobFailedError,
    KenshoExtractError,
)

__all__ = [
    "__version__",
    "Client",
    "Job",
    "JobStatus",
    "Document",
    "Table",
    "BatchReport",
    "KenshoExtractError",
    "AuthError",
    "ApiError",
    "JobFailedError",
    "ExtractTimeoutError",
    "BadInputError",
]
