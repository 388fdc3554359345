"""Fixtures: the emulator (Okta and Extract on 127.0.0.1, from the kensho-extract binary), a
keypair registered with it, the environment pointing at it, and sample PDFs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures" / "extract-output"


def cli() -> str:
    """The kensho-extract binary: $KENSHO_EXTRACT_BIN, else the workspace's debug build, else
    the one on PATH."""
    given = os.environ.get("KENSHO_EXTRACT_BIN")
    if given:
        return given
    built = REPO / "target" / "debug" / "kensho-extract"
    if built.exists():
        return str(built)
    found = shutil.which("kensho-extract")
    if found is None:
        pytest.fail("no kensho-extract binary: build it (cargo build -p extract-cli) or set KENSHO_EXTRACT_BIN")
    return found


def sample_pdf(heading: str, paragraph: str) -> bytes:
    """A one-page PDF with a heading and a paragraph (Helvetica text the emulator reads)."""

    def literal(text: str) -> str:
        return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    content = (
        f"BT /F1 20 Tf 72 720 Td {literal(heading)} Tj /F1 11 Tf 14 TL 0 -32 Td {literal(paragraph)} Tj ET"
    ).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Emulator:
    """A running `kensho-extract emulator` and the variables that point a client at it."""

    def __init__(self, workdir: Path, job_seconds: float = 1.0) -> None:
        keys = workdir / "keys"
        subprocess.run([cli(), "keys", "generate", "--out-dir", str(keys)], check=True, capture_output=True)
        self.private_key = keys / "private.pem"
        self.process = subprocess.Popen(
            [cli(), "emulator", "--job-seconds", str(job_seconds), "--register-key", str(keys / "public.pem")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.env: Dict[str, str] = {"KENSHO_PRIVATE_KEY": str(self.private_key)}
        assert self.process.stdout is not None
        # Three `export NAME=value` lines, then it serves; a dead emulator ends the stream.
        while len(self.env) < 4:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator stopped before it printed its address")
            name, _, value = line.strip().replace("export ", "", 1).partition("=")
            self.env[name] = value

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    running = Emulator(tmp_path_factory.mktemp("emulator"))
    yield running
    running.stop()


@pytest.fixture
def kensho_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dict[str, str]:
    """The emulator's variables, and none of the machine's Kensho settings or config file."""
    for name in list(os.environ):
        if name.startswith("KENSHO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KENSHO_CONFIG", str(tmp_path / "no-config.toml"))
    for name, value in emulator.env.items():
        monkeypatch.setenv(name, value)
    return dict(emulator.env)


@pytest.fixture
def report_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(sample_pdf("Quarterly Report", "Revenue grew by ten percent."))
    return path


def python() -> str:
    return sys.executable
