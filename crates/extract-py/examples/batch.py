"""A folder of PDFs into Markdown, resumable: run it again after a crash and nothing is
submitted twice. On a Slurm array (or Kubernetes, AWS Batch) pass shard="auto"."""

import sys
from typing import Any, Dict

from kensho_extract import Client, KenshoExtractError


def progress(event: Dict[str, Any]) -> None:
    if event["event"] == "finished":
        print(f"{event['input']}: {event['outcome']}", file=sys.stderr)


def main() -> int:
    client = Client.from_env()
    try:
        report = client.run(sys.argv[1], sys.argv[2], concurrency=8, formats=["markdown"], on_event=progress)
    except KenshoExtractError as error:
        print(f"kensho-extract: {error} ({error.kind})", file=sys.stderr)
        return 1
    print(report.summary)
    return 0 if report.ok else 3


if __name__ == "__main__":
    sys.exit(main())
