"""The exceptions of kensho_extract: one base class, and a subclass for each kind of failure.

Every exception carries what a program acts on: ``kind`` (a stable name such as ``"not_pdf"`` or
``"rate_limited"``), ``request_id`` (when a request is concerned), ``retryable`` (trying again
later may succeed), ``may_have_created_job`` (a submission whose answer never came: the service
may hold a job; look it up before submitting again), ``status`` (the HTTP status, when there was
one) and ``retry_after`` (seconds the service asked to wait). Messages never contain a token, a
key or an assertion.
"""

from __future__ import annotations

import builtins
from typing import Optional

__all__ = [
    "KenshoExtractError",
    "AuthError",
    "ApiError",
    "JobFailedError",
    "ExtractTimeoutError",
    "BadInputError",
]


class KenshoExtractError(Exception):
    """The base of every error kensho_extract raises."""

    kind: str
    request_id: Optional[str]
    retryable: bool
    may_have_created_job: bool
    status: Optional[int]
    retry_after: Optional[float]

    def __init__(
        self,
        message: str,
        *,
        kind: str = "other",
        request_id: Optional[str] = None,
        retryable: bool = False,
        may_have_created_job: bool = False,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.request_id = request_id
        self.retryable = retryable
        self.may_have_created_job = may_have_created_job
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, kind={self.kind!r}, request_id={self.request_id!r})"


class AuthError(KenshoExtractError):
    """Credentials missing, unreadable or refused: the key, the client id, a token."""


class ApiError(KenshoExtractError):
    """The service or the connection failed: see ``retryable`` and ``may_have_created_job``."""


class JobFailedError(KenshoExtractError):
    """The service says the extraction failed (``request_id`` names it)."""


class ExtractTimeoutError(KenshoExtractError, builtins.TimeoutError):
    """No answer, or no finished job, in time. A job may still finish: wait for it again from
    ``request_id``."""


class BadInputError(KenshoExtractError, ValueError):
    """What was given cannot be used: a missing file, not a PDF, an encrypted PDF, pages out of
    range, an unknown option, a bad setting."""
