"""PDF: the text layer, re-flowed into paragraphs, without page furniture."""
from __future__ import annotations

from pathlib import Path

from .base import _CONTROL, Extracted, FormatError, _check_not_empty, _drop_page_furniture, _iso_day, _paragraphs, _title, date_in_text


def read_pdf(path: Path) -> Extracted:
    """The text layer of a PDF (no OCR), without page furniture, re-flowed into paragraphs."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    _check_not_empty(path)
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise FormatError("not a PDF file (its content is not PDF)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormatError("the PDF is password-protected; remove the password and upload it again")
        raw = [_CONTROL.sub("", page.extract_text() or "").splitlines() for page in reader.pages]
        meta = reader.metadata
        title, created = (_title(meta.title), _iso_day(meta.creation_date)) if meta else ("", "")
    except FormatError:
        raise
    except DependencyError as e:  # AES without the optional `cryptography` package
        raise FormatError(f"the PDF is encrypted in a way this server cannot open ({e})") from e
    except Exception as e:  # pypdf raises many kinds (PdfReadError, KeyError, ValueError, ...)
        raise FormatError(f"the PDF is damaged or unreadable: {e}") from e
    lines = [ln for page in _drop_page_furniture(raw) for ln in page]
    text = "\n\n".join(_paragraphs(lines))
    if not text.strip():
        raise FormatError("the PDF has no text layer (scanned or blank pages); OCR is not supported")
    first_page = "\n".join(raw[0]) if raw else ""
    return Extracted(text, title, date_in_text(text) or date_in_text(first_page) or created)
