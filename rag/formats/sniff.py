"""What the upload request checks before it stores a file: its first bytes, a PDF's end marker, an
image's header. Never parsing: reading the file is the index job's, in a child process under a time
limit (``rag.parsing``), and what fails there fails the job with a message naming the file."""
from __future__ import annotations

import mmap
from pathlib import Path

from .base import FormatError, Reading, check_not_ole
from .images import check_image
from .text import _BOMS, decode
from .word import check_doc

HEAD_BYTES = 1024
OFFICE = {".docx": "Word .docx", ".pptx": "PowerPoint .pptx", ".xlsx": "Excel .xlsx"}
IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def sniff(path: Path, suffix: str, settings=None) -> None:
    """Raise FormatError (its message for the user) when ``path``, uploaded as ``suffix``, is plainly not
    a file of that type, or one this server cannot read (Unsupported: OCR or antiword missing)."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        whole = not handle.read(1)
    if not head:
        raise FormatError("the file is empty")
    if suffix == ".pdf":
        if b"%PDF-" not in head:
            raise FormatError("not a PDF file (it does not start as one)")
        if not _has_end_marker(path):
            raise FormatError("not a whole PDF file (no %%EOF end marker: cut short or damaged)")
    elif suffix in OFFICE:
        check_not_ole(head, OFFICE[suffix])
        if not head.startswith(b"PK\x03\x04"):
            raise FormatError(f"not a {OFFICE[suffix]} file (not a zip archive)")
    elif suffix == ".doc":
        check_doc(head)
    elif suffix in IMAGES:
        check_image(path, Reading(settings))  # the header only: size, pages, and OCR installed
    elif b"\x00" in head and not head.startswith(tuple(bom for bom, _ in _BOMS)):
        _wide_text(head, whole)


def _has_end_marker(path: Path) -> bool:
    """pypdf refuses a PDF without "%%EOF" (anywhere, searched from the end): a truncated upload."""
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.rfind(b"%%EO") != -1


def _wide_text(head: bytes, whole: bool) -> None:
    """NUL bytes without a byte-order mark: text only if it is UTF-16/32 (its ASCII holds NULs)."""
    end = len(head) if whole else len(head) // 4 * 4
    for cut in ((end,) if whole else (end, end - 2)):  # the sample may end inside a surrogate pair
        try:
            decode(head[:cut])
            return
        except FormatError:
            pass
    raise FormatError("not a text file (it holds NUL bytes)")
