"""Plain text out of the files users have, for the knowledge base: one module per format family.

Uploaded files are untrusted: every failure becomes a `FormatError` whose message can be shown
to the user as is, never a library traceback.  The text keeps the structure that helps chunking
and citing: paragraphs separated by one blank line, headings as Markdown "#" lines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .base import (DATELINE_SHORT, MAX_UNPACKED_BYTES, Extracted, FormatError, _paragraphs, date_in_text,  # noqa: F401
                   dateline)
from .pdf import read_pdf
from .word import read_docx

READERS: dict[str, Callable[[Path], Extracted]] = {".pdf": read_pdf, ".docx": read_docx}
