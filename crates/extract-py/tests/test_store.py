"""run over an object store: inputs under an s3:// prefix, outputs to another, on moto's S3
server on 127.0.0.1 (moto[server], which .ci/run installs)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from conftest import sample_pdf

from kensho_extract import BadInputError, Client


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    installed = subprocess.run(["python3", "-c", "import moto.server"], capture_output=True).returncode == 0
    if not installed:
        assert "CI" not in os.environ, "moto is not installed: python3 -m pip install 'moto[server]'"
        pytest.skip("moto is not installed (python3 -m pip install 'moto[server]')")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


def put(url: str, body: bytes = b"") -> None:
    # A content type of its own: urllib's default (a form) makes moto store no bytes.
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/pdf"})
    urllib.request.urlopen(request, timeout=10)


def keys(endpoint: str, bucket: str, prefix: str) -> List[str]:
    listing = urllib.request.urlopen(f"{endpoint}/{bucket}?list-type=2&prefix={prefix}", timeout=10).read().decode()
    return sorted(re.findall(r"<Key>([^<]+)</Key>", listing))


def test_run_from_a_bucket_to_a_bucket(kensho_env: Dict[str, str], moto: str, tmp_path: Path) -> None:
    put(f"{moto}/corpus")
    for i in range(3):
        put(f"{moto}/corpus/in/filing-{i}.pdf", sample_pdf(f"Filing {i}", f"Paragraph {i}."))
    client = Client.from_env()
    report = client.run("s3://corpus/in", "s3://corpus/out", concurrency=2, formats=["markdown"])
    assert report.ok, report.documents
    assert report.summary["succeeded"] == 3
    written = [k for k in keys(moto, "corpus", "out/") if not any(p.startswith(".") for p in k.split("/"))]
    assert [k for k in written if k.endswith((".json", ".md"))] == sorted(
        [f"out/filing-{i}.json" for i in range(3)] + [f"out/filing-{i}.md" for i in range(3)]
    ), written
    # Objects are read with a signed request: boto3, which moto's server brings.
    markdown = subprocess.run(
        ["python3", "-c", "import boto3,sys; print(boto3.client('s3').get_object(Bucket='corpus', Key='out/filing-1.md')['Body'].read().decode())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Filing 1" in markdown
    # Run again: everything is already done, nothing is sent.
    again = client.run("s3://corpus/in", "s3://corpus/out", concurrency=2, formats=["markdown"])
    assert (again.summary["already_done"], again.summary["submissions"]) == (3, 0)


def test_a_url_it_cannot_use(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not a supported location"):
        Client.from_env().run("ftp://user:hunter2@example.com/in", tmp_path / "out")
    try:
        Client.from_env().run("ftp://user:hunter2@example.com/in", tmp_path / "out")
    except BadInputError as error:
        assert "hunter2" not in str(error)
