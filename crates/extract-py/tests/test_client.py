"""The client against the emulator: extract, submit/wait/status/fetch, asyncio, threads, and a
batch that is killed and resumed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

from conftest import sample_pdf

from kensho_extract import Client, Document


def test_extract_a_pdf_from_the_environment(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    markdown = Client.from_env().extract(report_pdf).to_markdown()
    assert "Quarterly Report" in markdown
    assert "Revenue grew by ten percent." in markdown


def test_keyword_arguments_come_before_the_environment(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    client = Client(api_url="http://127.0.0.1:9", access_token="unused-token")
    assert client.api_url == "http://127.0.0.1:9"
    assert client.auth_method == "access token"
    assert Client.from_env().auth_method == "keypair"
    assert Client.from_env().api_url == kensho_env["KENSHO_EXTRACT_API_URL"]


def test_a_profile_gives_what_the_environment_does_not(
    kensho_env: Dict[str, str], tmp_path: Path, monkeypatch: object, report_pdf: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.emulator]\n"
        f'api-url = "{kensho_env["KENSHO_EXTRACT_API_URL"]}"\n'
        f'token-url = "{kensho_env["KENSHO_TOKEN_URL"]}"\n'
        f'client-id = "{kensho_env["KENSHO_CLIENT_ID"]}"\n'
        f'private-key = "{kensho_env["KENSHO_PRIVATE_KEY"]}"\n'
    )
    for name in kensho_env:
        os.environ.pop(name, None)
    os.environ["KENSHO_CONFIG"] = str(config)
    client = Client(profile="emulator")
    assert client.api_url == kensho_env["KENSHO_EXTRACT_API_URL"]
    assert "Quarterly Report" in client.extract(report_pdf).to_text()


def test_a_private_key_open_to_others_is_warned_about_and_used(
    kensho_env: Dict[str, str], report_pdf: Path, tmp_path: Path
) -> None:
    import shutil
    import warnings

    key = tmp_path / "open key\x1b[31m.pem"
    shutil.copy(kensho_env["KENSHO_PRIVATE_KEY"], key)
    key.chmod(0o600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Client(private_key=str(key))
    assert caught == []
    key.chmod(0o644)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client(private_key=str(key))
    assert [w.category for w in caught] == [UserWarning]
    message = str(caught[0].message)
    assert "open to group or others (mode 0644): run chmod 600" in message
    assert "\x1b" not in message and "open key\\u{1b}[31m.pem" in message
    # Warned, and used all the same; a token given instead leaves the key unread and unwarned.
    assert "Quarterly Report" in client.extract(report_pdf).to_markdown()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Client(private_key=str(key), access_token="given-token")
    assert caught == []


def test_submit_wait_status_and_fetch(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    client = Client.from_env()
    job = client.submit(report_pdf.read_bytes(), file_name="report.pdf")
    assert job.request_id
    first = client.status(job.request_id)
    assert first.request_id == job.request_id
    document = job.wait(timeout=60)
    assert "Quarterly Report" in document.to_markdown()
    status = client.status(job.request_id)
    assert (status.state, status.done, status.error) == ("success", True, None)
    fetched = client.fetch(job.request_id)
    assert fetched.to_markdown() == document.to_markdown()
    # A job picked up again from its request id alone.
    assert client.job(job.request_id).wait(timeout=60).to_markdown() == document.to_markdown()


def test_asyncio_forms(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    paths = []
    for i in range(3):
        path = tmp_path / f"doc-{i}.pdf"
        path.write_bytes(sample_pdf(f"Heading {i}", f"Body {i}."))
        paths.append(path)

    async def main() -> List[str]:
        client = Client.from_env()
        documents = await asyncio.gather(*(client.aextract(p) for p in paths))
        job = await client.asubmit(paths[0])
        awaited = await job
        status = await client.astatus(job.request_id)
        fetched = await client.afetch(job.request_id)
        assert status.done and fetched.to_text() == awaited.to_text()
        return [d.to_text() for d in documents]

    texts = asyncio.run(main())
    assert [f"Heading {i}" in text for i, text in enumerate(texts)] == [True, True, True]


def test_the_gil_is_released_while_waiting(kensho_env: Dict[str, str], report_pdf: Path) -> None:
    client = Client.from_env()
    counted = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counted[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = counted[0]
        client.extract(report_pdf)  # about a second of waiting on the emulator's job
        during = counted[0] - before
    finally:
        stop.set()
        counter.join()
    # Holding the GIL for the whole wait would leave the counter where it was.
    assert during > 10_000, during


def test_threads_share_one_client(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    client = Client.from_env()
    results: Dict[int, str] = {}

    def work(i: int) -> None:
        path = tmp_path / f"t-{i}.pdf"
        path.write_bytes(sample_pdf(f"Thread {i}", "Text."))
        results[i] = client.extract(path).to_text()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [0, 1, 2, 3]
    assert all(f"Thread {i}" in results[i] for i in range(4))


RUN_SCRIPT = """
import json, sys
from kensho_extract import Client
def on_event(event):
    # One write a line: print's text and its newline are two writes.
    sys.stdout.write(json.dumps({k: str(v) for k, v in event.items()}) + "\\n")
    sys.stdout.flush()
report = Client.from_env().run(sys.argv[1], sys.argv[2], concurrency=2, formats=["markdown"], on_event=on_event)
print(json.dumps({"summary": report.summary}), flush=True)
"""


def test_run_is_killed_and_resumed(kensho_env: Dict[str, str], tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for i in range(6):
        (inputs / f"report-{i}.pdf").write_bytes(sample_pdf(f"Report {i}", f"Paragraph {i}."))
    worker = subprocess.Popen(
        [sys.executable, "-c", RUN_SCRIPT, str(inputs), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert worker.stdout is not None
    started = []
    deadline = time.monotonic() + 60
    while len(started) < 2 and time.monotonic() < deadline:
        line = worker.stdout.readline()
        assert line, "the run ended before two submissions"
        event = json.loads(line)
        if event.get("event") == "started" and event.get("resumed") == "False":
            started.append(event["input"])
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert len(started) == 2

    events: List[Dict[str, object]] = []
    report = Client.from_env().run(inputs, out, concurrency=2, formats=["markdown"], on_event=events.append)
    assert report.ok, report.documents
    summary = report.summary
    # Nothing the killed run submitted is submitted again.
    assert summary["submissions"] + len(started) <= 6, summary
    assert summary["resumed"] + summary["already_done"] >= 1, summary
    assert sorted(p.name for p in out.glob("[!.]*.json")) == [f"report-{i}.json" for i in range(6)]
    for i in range(6):
        assert f"Report {i}" in (out / f"report-{i}.md").read_text()
        assert Document.from_json((out / f"report-{i}.json").read_bytes()).to_text()
    assert {e["event"] for e in events} >= {"finished"}


INTERRUPTED_SCRIPT = """
import sys
from kensho_extract import Client
client = Client.from_env()
print("waiting", flush=True)
try:
    client.extract(sys.argv[1], timeout=120)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_ends_a_blocking_wait(tmp_path: Path, report_pdf: Path) -> None:
    from conftest import Emulator

    slow = Emulator(tmp_path / "slow", job_seconds=60)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KENSHO_")}
        env.update(slow.env)
        env["KENSHO_CONFIG"] = str(tmp_path / "no-config.toml")
        worker = subprocess.Popen(
            [sys.executable, "-c", INTERRUPTED_SCRIPT, str(report_pdf)], stdout=subprocess.PIPE, text=True, env=env
        )
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "waiting"
        time.sleep(1.0)  # inside the wait for a 60 s job
        sent = time.monotonic()
        worker.send_signal(signal.SIGINT)
        code = worker.wait(timeout=20)
        took = time.monotonic() - sent
        assert worker.stdout.read().strip() == "interrupted"
        assert code == 130
        assert took < 5, took
    finally:
        slow.stop()
