"""One settings object, read from the environment (prefix ``RAG_``) or a ``.env`` file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .runtime import Runtime


def _default_home() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "rag-zh"


def _default_threads() -> int:
    # Torch with every core busy collapses on a 2-core machine when anything else runs.
    return max(1, min(4, (os.cpu_count() or 2) // 2))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="cache folder for the built model")
    model: str | None = Field(default=None, description="a sentence-transformers model path instead of the bundled one")
    threads: int = Field(default_factory=_default_threads, ge=1, le=64)
    index_threads: int = Field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)), ge=1, le=64,
                               description="threads per encoder call in `rag index` (and the first build of `rag serve`): "
                               "a batch build has the machine to itself; uploads to a running server use `threads`")
    runtime: Runtime = Field(
        default="onnx", description="how the encoders run: onnx (ONNX Runtime fp32, the default: same answers as torch, "
        "faster), onnx-int8 (ONNX Runtime, int8 weights), torch (fp32) or int8 (torch dynamic quantization); "
        "the ONNX ones export under `home` on first use")
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    ann_threshold: int = Field(default=200_000, ge=1, description="chunk count above which FAISS search is approximate (HNSW)")
    store: Literal["faiss", "milvus"] = Field(default="faiss", description="where new index versions go: in-process FAISS + BM25, or Milvus")
    milvus_uri: str | None = Field(default=None, description="a Milvus server or cluster (http://host:19530) or a Lite file (*.db); default: milvus.db in the index folder")
    milvus_token: str | None = Field(default=None, description="user:password or API key for a Milvus server that needs one")
    ray_address: str | None = Field(default=None, description="the Ray cluster `rag index --ray` embeds on (ray://host:10001); default: a local Ray")
    ray_workers: int = Field(default=2, ge=1, le=1024, description="embedding workers (one encoder each) in a Ray build")
    ray_batch_size: int = Field(default=64, ge=1, le=4096, description="paragraphs per encoder call in a Ray build")
    read_depth: int = Field(default=4, ge=1, le=50, description="top passages the answer reader reads")
    read_first: int = Field(default=2, ge=1, le=50, description="of those, how many are read first: when they answer and "
                            "the rest are of their documents, the rest are read in focused windows, as are a series' further "
                            "documents (the read depth: every passage in full)")
    reader_windows: int = Field(default=1, ge=1, le=16, description="windows read per long passage (those sharing most with the question)")
    reader_tokens: int | None = Field(default=None, ge=16, le=250, description="passage tokens one reader window holds: "
                                      "of a longer passage, the part sharing most with the question is read (unset: 250)")
    workers: int = Field(default=1, ge=1, le=16, description="reader calls that may run at once (each with `threads` torch threads); "
                         "unset: as many as the cores hold at `threads` each")
    batch_windows: int = Field(default=32, ge=1, le=256, description="reader windows of concurrent questions joined in one call "
                               "(1: no batching, of questions either); unset: 1 under ONNX Runtime, 32 under torch")
    api_key: str | None = None
    kb_dir: Path = Field(default=Path("index/kbs"), description="where knowledge bases other than the default one live")
    max_upload_mb: float = Field(default=50, gt=0, description="largest file an upload may send")
    parse_seconds: float = Field(default=60, gt=0, le=3600, description="longest an index job may spend reading one file, "
                                 "not counting OCR: each page OCR reads gets this long again (a child process, stopped at "
                                 "the limit; the readers stop themselves there too): the job fails naming the file")
    max_document_paragraphs: int = Field(default=20_000, ge=1, description="a file yielding more paragraphs is refused "
                                         "by its index job (a 49 MB line would take hours to embed)")
    max_json_kb: int = Field(default=1024, ge=1, description="largest JSON (or other non-upload) request body, refused "
                             "with 413 before it is parsed or the key checked")
    max_chat_chars: int = Field(default=100_000, ge=1, description="most text all messages of one chat-completions request may hold")
    kb_name: str = Field(default="default", min_length=1, description="the knowledge base's name: the model id of the OpenAI-compatible API")
    llm_base_url: str | None = Field(default=None, description="an OpenAI-compatible endpoint (…/v1) that phrases answers from the citations; off when unset")
    llm_model: str | None = Field(default=None, description="the model name sent to that endpoint")
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=30.0, gt=0, le=600, description="seconds to wait for the writer before the extractive answer is used")
    llm_passages: int = Field(default=5, ge=1, le=20, description="top passages the writer sees, numbered as the citations")
    host: str = "127.0.0.1"
    port: int = 8000
    max_question_chars: int = 2000
    # Reading uploaded files (rag/formats): every bound says in its error which setting raises it.
    ocr_max_pages: int = Field(default=200, ge=1, le=100_000, description="pages (or images) per file that OCR reads; a file needing more is refused")
    ocr_cache_dir: Path | None = Field(default=None, description="where OCR text is kept by file hash, so a rebuild does not read a scan again; default: <home>/ocr")
    image_max_megapixels: float = Field(default=50, gt=0, description="largest image (or rendered page) OCR decodes; checked from the header, before decoding")
    pdf_page_max_mb: float = Field(default=1, gt=0, description="largest content stream one PDF page may have (decompressed)")
    office_max_unpacked_mb: float = Field(default=100, gt=0, description="bytes a .docx/.pptx/.xlsx may inflate to, counted while inflating (not as its zip directory claims)")
    sheet_max_rows: int = Field(default=100_000, ge=1, description="rows read per spreadsheet (.xlsx sheet or .csv); reading also stops after 1,000 empty rows in a row")
    front_matter_max_kb: float = Field(default=64, gt=0, description="largest YAML front matter block of a Markdown/text file")
    title_max_chars: int = Field(default=200, ge=10, description="a title or source longer than this (front matter, file metadata) is cut to it")


    @model_validator(mode="after")
    def _workers_fill_the_cores(self) -> "Settings":
        # Measured on 2 cores: two 1-thread reader workers serve 1.74x the requests/s of one, a lone question as fast.
        if "workers" not in self.model_fields_set:
            self.workers = max(1, min(16, (os.cpu_count() or 2) // self.threads))
        # Measured under ONNX Runtime with 2 workers (bench-20261201T042134Z): unbatched 3.86 requests/s, batched
        # 3.35 (joined windows pad to the longest, and ORT gains little from a larger batch); torch gained from it.
        if "batch_windows" not in self.model_fields_set and self.runtime.startswith("onnx"):
            self.batch_windows = 1
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
