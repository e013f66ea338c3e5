"""PDF: the text layer, re-flowed into paragraphs, without page furniture; pages without one read by OCR.

Bounded: each page's content stream is measured before it is parsed (``RAG_PDF_PAGE_MAX_MB``), the
whole text layer may take ``RAG_PARSE_SECONDS``, and at most ``RAG_OCR_MAX_PAGES`` pages go to OCR.
pypdf's log is quieted: a malformed file makes it warn once per broken object.
"""
from __future__ import annotations

import logging
from pathlib import Path

from . import ocr
from .base import (_CONTROL, Extracted, FormatError, Reading, _check_not_empty, _drop_page_furniture, _iso_day,
                   _paragraphs, _title, date_in_text)

logging.getLogger("pypdf").setLevel(logging.ERROR)
RENDER_SCALE = 2.0  # 144 dpi: RapidOCR reads body text well at this size (measured on rendered Chinese pages)


def _content_size(page) -> int:
    contents = page.get_contents()
    return len(contents.get_data()) if contents is not None else 0


def _text_layer(path: Path, reading: Reading):
    """(lines per page, title, creation day, page count) from pypdf, within the bounds."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    limit = reading.settings.pdf_page_max_mb
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise FormatError("the PDF is password-protected; remove the password and upload it again")
        raw = []
        for number, page in enumerate(reader.pages, start=1):
            reading.check_time(f"the PDF's text (page {number})")
            size = _content_size(page)
            if size > limit * 2**20:
                raise FormatError(f"page {number} of the PDF has {size / 2**20:.1f} MB of drawing instructions, more than "
                                  f"the limit of {limit:g} MB per page (RAG_PDF_PAGE_MAX_MB); refused")
            raw.append(_CONTROL.sub("", page.extract_text() or "").splitlines())
        meta = reader.metadata
        title, created = (_title(meta.title), _iso_day(meta.creation_date)) if meta else ("", "")
    except FormatError:
        raise
    except DependencyError as e:  # AES without the optional `cryptography` package
        raise FormatError(f"the PDF is encrypted in a way this server cannot open ({e})") from e
    except RecursionError:
        raise FormatError("the PDF is damaged or unreadable: its objects nest without end") from None
    except Exception as e:  # pypdf raises many kinds (PdfReadError, KeyError, ValueError, ...)
        raise FormatError(f"the PDF is damaged or unreadable: {e}"[:300]) from e
    return raw, title, created


def _render(path: Path, reading: Reading):
    """``image_of(number)``: page ``number`` rendered by pdfium (its size checked before rendering)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))

    def image_of(number: int):
        page = document[number - 1]
        width, height = page.get_size()
        ocr.check_pixels(int(width * RENDER_SCALE), int(height * RENDER_SCALE), reading, f"page {number} rendered")
        return page.render(scale=RENDER_SCALE, grayscale=True).to_pil()

    return image_of


def read_pdf(path: Path, reading: Reading | None = None) -> Extracted:
    """The text of a PDF: its text layer where a page has one, OCR where it has none (a scan)."""
    reading = reading or Reading()
    _check_not_empty(path)
    with open(path, "rb") as f:
        if f.read(5) != b"%PDF-":
            raise FormatError("not a PDF file (its content is not PDF)")
    raw, title, created = _text_layer(path, reading)
    scanned = [n for n, lines in enumerate(raw, start=1) if not any(line.strip() for line in lines)]
    texts: dict[int, list[str]] = {}
    pending = 0
    if scanned:
        if not ocr.available():
            if len(scanned) == len(raw):
                raise FormatError("the PDF has no text layer (scanned or blank pages), and OCR is not installed: "
                                  "pip install 'rag-zh[ocr]' (make run installs it)")
            scanned = []  # a mixed PDF without OCR: its text layer alone
        else:
            ocr.check_pages(len(scanned), reading, "pages without a text layer")
            cache = ocr.Cache(path, reading.settings)
            if reading.ocr:
                try:
                    texts = ocr.read_pages(cache, scanned, _render(path, reading), reading)
                except FormatError:
                    raise
                except Exception as e:  # pdfium cannot render it
                    raise FormatError(f"the PDF's pages could not be rendered for OCR: {e}"[:300]) from e
            else:
                pending = sum(cache.get(n) is None for n in scanned)
                texts = {n: cache.get(n) or [] for n in scanned}
    # Runs of text-layer pages are re-flowed together (a paragraph may cross a page); OCR pages bring their own.
    paragraphs: list[tuple[str, bool]] = []
    run: list[list[str]] = []

    def flush() -> None:
        lines = [ln for page in _drop_page_furniture(run) for ln in page]
        paragraphs.extend((p, False) for p in _paragraphs(lines))
        run.clear()

    for number, lines in enumerate(raw, start=1):
        if number in texts:
            flush()
            paragraphs.extend((p, True) for p in texts[number])
        else:
            run.append(lines)
    flush()
    text, spans = "", []
    for paragraph, from_ocr in paragraphs:
        start = len(text) + (2 if text else 0)
        text += ("\n\n" if text else "") + paragraph
        if from_ocr:
            spans.append((start, len(text)))
    if not text.strip() and not pending:
        if scanned:
            raise FormatError("the PDF has no text layer, and OCR found no text on its pages (blank pages, or images too faint to read)")
        raise FormatError("the PDF has no text layer (scanned or blank pages)")
    first_page = "\n".join(raw[0]) if raw else ""
    return Extracted(text, title, date_in_text(text) or date_in_text(first_page) or created,
                     ocr_spans=tuple(spans), ocr_pending=pending)
