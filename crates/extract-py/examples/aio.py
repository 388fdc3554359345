"""Many documents at once from asyncio, with a retry where the service says it may help."""

import asyncio
import sys
from typing import List

from kensho_extract import ApiError, Client, Document


async def extract_all(paths: List[str]) -> List[Document]:
    client = Client.from_env()
    documents = []
    for path in paths:
        try:
            documents.append(await client.aextract(path, timeout=600))
        except ApiError as error:
            if not error.retryable or error.may_have_created_job:
                raise
            await asyncio.sleep(error.retry_after or 5.0)
            documents.append(await client.aextract(path, timeout=600))
    return documents


if __name__ == "__main__":
    for document in asyncio.run(extract_all(sys.argv[1:])):
        for table in document.tables():
            print(table.uid, table.category, len(table), "rows")
