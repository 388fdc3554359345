"""Types of the compiled part of kensho_extract (see the package's docstrings)."""

import os
from typing import Any, Awaitable, Callable, Dict, Generator, List, Optional, Sequence, Tuple, TypedDict, Union

from typing_extensions import Unpack

__version__: str

PathLike = Union[str, "os.PathLike[str]"]
Source = Union[PathLike, bytes]
Json = Union[str, bytes, Dict[str, Any]]

class ExtractionOptions(TypedDict, total=False):
    """The keyword options of an extraction (the CLI's extraction flags)."""

    document_type: str
    ocr: bool
    enhanced_tables: bool
    figures: bool
    images: bool
    relations: bool
    pages: str
    document_id: str
    priority: str
    output_format: str

class Document:
    """A parsed Extract output document."""

    @staticmethod
    def from_json(data: Json) -> "Document": ...
    def to_json(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...
    def to_markdown(self) -> str: ...
    def to_text(self) -> str: ...
    def pages(self, *, markdown: bool = False) -> List[str]: ...
    def tables(self, *, duplicate_spans: bool = True) -> List["Table"]: ...
    def chunks(self, *, max_tokens: int = 512, overlap: int = 0) -> List[Dict[str, Any]]: ...
    def to_html(self) -> str: ...
    def items(self, *, locations: bool = False) -> List[Dict[str, Any]]: ...
    def relations(self) -> List[Dict[str, str]]: ...
    def sections(self) -> List[List[Dict[str, Any]]]: ...

class Table:
    """A table of a document as a grid of strings."""

    @property
    def uid(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def grid(self) -> List[List[str]]: ...
    def to_csv(self) -> str: ...
    def to_markdown(self) -> str: ...
    def to_pandas(self, *, header: bool = True) -> Any: ...
    def __len__(self) -> int: ...

class JobStatus:
    """Where a request stands."""

    @property
    def request_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def error(self) -> Optional[str]: ...

class Job:
    """A submitted extraction."""

    @property
    def request_id(self) -> str: ...
    @property
    def mode(self) -> str: ...
    def wait(self, timeout: Optional[float] = None) -> Document: ...
    def wait_async(self, timeout: Optional[float] = None) -> Awaitable[Document]: ...
    def __await__(self) -> Generator[Any, None, Document]: ...

class BatchReport:
    """What a run did."""

    @property
    def documents(self) -> List[Dict[str, Any]]: ...
    @property
    def summary(self) -> Dict[str, int]: ...
    @property
    def ok(self) -> bool: ...

class Client:
    """A client of Kensho Extract: keyword arguments, else KENSHO_* variables, else a profile."""

    def __init__(
        self,
        *,
        api_url: Optional[str] = None,
        token_url: Optional[str] = None,
        client_id: Optional[str] = None,
        private_key: Optional[PathLike] = None,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        profile: Optional[str] = None,
        request_timeout: Optional[float] = None,
        max_rps: Optional[float] = None,
    ) -> None: ...
    @staticmethod
    def from_env(*, profile: Optional[str] = None) -> "Client": ...
    @property
    def api_url(self) -> str: ...
    @property
    def auth_method(self) -> str: ...
    def extract(
        self,
        source: Source,
        *,
        timeout: Optional[float] = None,
        file_name: Optional[str] = None,
        **options: Unpack[ExtractionOptions],
    ) -> Document: ...
    def aextract(
        self,
        source: Source,
        *,
        timeout: Optional[float] = None,
        file_name: Optional[str] = None,
        **options: Unpack[ExtractionOptions],
    ) -> Awaitable[Document]: ...
    def submit(
        self,
        source: Source,
        *,
        file_name: Optional[str] = None,
        **options: Unpack[ExtractionOptions],
    ) -> Job: ...
    def asubmit(
        self,
        source: Source,
        *,
        file_name: Optional[str] = None,
        **options: Unpack[ExtractionOptions],
    ) -> Awaitable[Job]: ...
    def job(self, request_id: str) -> Job: ...
    def status(self, request_id: str) -> JobStatus: ...
    def astatus(self, request_id: str) -> Awaitable[JobStatus]: ...
    def fetch(self, request_id: str) -> Document: ...
    def afetch(self, request_id: str) -> Awaitable[Document]: ...
    def run(
        self,
        inputs: Union[PathLike, Sequence[PathLike]],
        out_dir: Union[PathLike, str],
        *,
        concurrency: int = 8,
        shard: Optional[str] = None,
        formats: Optional[Sequence[str]] = None,
        overwrite: bool = False,
        wait_lock: bool = False,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], object]] = None,
        **options: Unpack[ExtractionOptions],
    ) -> BatchReport: ...
    def arun(
        self,
        inputs: Union[PathLike, Sequence[PathLike]],
        out_dir: Union[PathLike, str],
        *,
        concurrency: int = 8,
        shard: Optional[str] = None,
        formats: Optional[Sequence[str]] = None,
        overwrite: bool = False,
        wait_lock: bool = False,
        timeout: Optional[float] = None,
        on_event: Optional[Callable[[Dict[str, Any]], object]] = None,
        **options: Unpack[ExtractionOptions],
    ) -> Awaitable[BatchReport]: ...

def kv_items(
    document: Json, locations: bool, relations: bool
) -> Tuple[List[Dict[str, Any]], Optional[List[Dict[str, str]]]]: ...
def kv_text(document: Json) -> str: ...
def kv_markdown(document: Json) -> str: ...
def kv_text_by_page(document: Json) -> List[str]: ...
def kv_markdown_by_page(document: Json) -> List[str]: ...
def kv_sections(document: Json) -> List[List[Dict[str, Any]]]: ...
def kv_table_grids(
    document: Json, duplicate_spans: bool
) -> List[Tuple[str, str, List[List[str]], List[Dict[str, Any]]]]: ...
def kv_visual(document: Json, page_width: int, page_height: int, resize: bool) -> List[str]: ...
