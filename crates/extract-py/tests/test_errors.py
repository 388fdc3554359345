"""Every exception class, raised by a real cause, with the fields a program acts on; and no
secret in any message, repr or traceback."""

from __future__ import annotations

import socket
import traceback
from pathlib import Path
from typing import Dict

import pytest

import kensho_extract
from kensho_extract import (
    ApiError,
    AuthError,
    BadInputError,
    Client,
    ExtractTimeoutError,
    JobFailedError,
    KenshoExtractError,
)


def test_the_hierarchy() -> None:
    for cls in (ApiError, AuthError, BadInputError, ExtractTimeoutError, JobFailedError):
        assert issubclass(cls, KenshoExtractError)
    assert issubclass(ExtractTimeoutError, TimeoutError)
    assert issubclass(BadInputError, ValueError)
    assert kensho_extract.__version__


def test_a_missing_file(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as raised:
        Client.from_env().extract(tmp_path / "missing.pdf")
    assert raised.value.kind == "not_found"
    assert "missing.pdf" in str(raised.value)


def test_not_a_pdf(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just text")
    with pytest.raises(BadInputError) as raised:
        Client.from_env().extract(path)
    assert raised.value.kind == "not_pdf"


def test_an_unknown_option(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    with pytest.raises(BadInputError, match='unknown extraction option "orc"' ):
        Client.from_env().extract(report_pdf, orc=True)


def test_refused_credentials_never_show_the_token(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    secret = "tok-" + "s3cr3t" * 6
    client = Client(access_token=secret)
    assert secret not in repr(client)
    with pytest.raises(AuthError) as raised:
        client.extract(report_pdf)
    assert raised.value.kind == "unauthorized"
    shown = str(raised.value) + repr(raised.value) + "".join(traceback.format_exception(raised.value))
    assert secret not in shown


def test_an_unknown_client_id(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    with pytest.raises(AuthError) as raised:
        Client(client_id="no-such-client").extract(report_pdf)
    assert raised.value.kind == "unauthorized"


def test_no_credentials(kensho_env: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KENSHO_PRIVATE_KEY", "KENSHO_CLIENT_ID"):
        monkeypatch.delenv(name)
    with pytest.raises(AuthError) as raised:
        Client.from_env()
    assert raised.value.kind == "config"


def test_nothing_listening(report_pdf: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: connections are refused.
    client = Client(api_url=f"http://127.0.0.1:{port}", access_token="t", request_timeout=5)
    with pytest.raises(ApiError) as raised:
        client.status("00000000-0000-4000-8000-000000000000")
    assert raised.value.kind == "connect"
    assert raised.value.retryable


def test_an_unknown_request(kensho_env: Dict[str, str]) -> None:
    with pytest.raises(ApiError) as raised:
        Client.from_env().fetch("00000000-0000-4000-8000-000000000000")
    assert raised.value.kind == "no_such_job"
    assert raised.value.request_id == "00000000-0000-4000-8000-000000000000"
    assert raised.value.status == 404


def test_a_job_that_fails(kensho_env: Dict[str, str]) -> None:
    # A PDF header and nothing the emulator can read: the service takes it and the job fails.
    with pytest.raises(JobFailedError) as raised:
        Client.from_env().extract(b"%PDF-1.5\n" + b"\x00" * 64, file_name="broken.pdf", timeout=60)
    assert raised.value.kind == "job_failed"
    assert raised.value.request_id


def test_a_deadline(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    with pytest.raises(ExtractTimeoutError) as raised:
        Client.from_env().extract(report_pdf, timeout=0.3)
    assert raised.value.kind == "deadline"
    assert raised.value.request_id
    # The job goes on: it can be waited for again.
    assert "Quarterly Report" in Client.from_env().job(raised.value.request_id).wait(60).to_text()
