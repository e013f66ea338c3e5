"""Plain text out of the files users have, for the knowledge base: one module per format family.

Uploaded files are untrusted: every failure becomes a `FormatError` whose message can be shown
to the user as is, never a library traceback; every reader is bounded by settings (``RAG_*``, see
``rag.config``). The text keeps the structure that helps chunking and citing: paragraphs separated
by one blank line, headings as Markdown "#" lines. A reader is ``reader(path, reading)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .base import (DATELINE_SHORT, Extracted, FormatError, Reading, Unsupported, _paragraphs,  # noqa: F401
                   date_in_text, dateline)
from .images import read_image
from .pdf import read_pdf
from .sheets import read_csv, read_xlsx
from .sniff import sniff
from .slides import read_pptx
from .text import decode
from .word import read_doc, read_docx

READERS: dict[str, Callable[..., Extracted]] = {
    ".pdf": read_pdf, ".docx": read_docx, ".doc": read_doc, ".pptx": read_pptx, ".xlsx": read_xlsx, ".csv": read_csv,
    ".png": read_image, ".jpg": read_image, ".jpeg": read_image, ".tif": read_image, ".tiff": read_image,
}
