"""Plain text out of PDF and Word (.docx) files, for the knowledge base.

Uploaded files are untrusted: every failure becomes a `FormatError` whose message can be shown
to the user as is, never a library traceback.  The text keeps the structure that helps chunking
and citing: paragraphs separated by one blank line, Word headings as Markdown "#" lines.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Callable


class FormatError(ValueError):
    """A file that cannot be read as what its name says; the message says why in plain words (it is shown to users)."""


@dataclass(frozen=True)
class Extracted:
    text: str  # paragraphs separated by one blank line; headings as Markdown "# " / "## " lines
    title: str  # "" when unknown: the caller falls back (e.g. to the file name)
    date: str  # "YYYY-MM-DD" (or "YYYY-MM" / "YYYY"), "" when unknown


MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a DOCX (zip) that would unpack to more than this is refused (zip bomb)

_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*(?:年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?|([-/.])(\d{1,2})\4(\d{1,2})(?!\d))"
)
# "3", "- 3 -", "— 3 —", "第3页", "第 3 页 共 20 页", "3/20", "Page 3 of 20": a page number, never content.
_PAGE_NUMBER = re.compile(
    r"\s*(?:\d{1,4}|[-—–]+\s*\d{1,4}\s*[-—–]+|第\s*\d+\s*页(?:\s*[,，/]?\s*共\s*\d+\s*页)?"
    r"|\d+\s*/\s*\d+|(?:page|p\.)\s*\d+(?:\s*(?:of|/)\s*\d+)?)\s*",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?；;：:…][”’」』\"')）]*$")
_INDENT = re.compile(r"^(?:\u3000| {2,})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # pypdf leaves NULs from some CID fonts
_BOILERPLATE_TITLES = {"untitled", "无标题", "document", "word document", "title"}


def date_in_text(text: str, lines: int = 10) -> str:
    """The first valid date written in the first `lines` non-empty lines ("" if none).

    A dateline sits near the top of a news article or notice; dates further down are usually
    about events the text mentions, not when it was written.
    """
    head = "\n".join([line for line in text.splitlines() if line.strip()][:lines])
    for m in _DATE.finditer(head):
        year, month, day = int(m[1]), int(m[2] or m[5] or 0), int(m[3] or m[6] or 0)
        try:
            date(year, month, day or 1)
        except ValueError:
            continue  # 2024.13.40 is a version number or a typo, not a date
        return f"{year:04d}-{month:02d}-{day:02d}" if day else f"{year:04d}-{month:02d}"
    return ""


_DATELINE_LABEL = re.compile(r"^(?:(?:发布|发表|更新|印发|成文)?(?:时间|日期)|date|published|updated)\s*[:：]?\s*[（(【\[]?\s*|^[（(【\[]\s*",
                             re.IGNORECASE)
DATELINE_SHORT = 30  # characters: a line this short that holds a date is a dateline ("石家庄日报 2025年3月10日")


def dateline(text: str, lines: int = 3) -> str:
    """The date of a dateline among the first ``lines`` non-empty lines ("" if none): a date that
    opens a line (after a label such as 发布时间： or a bracket), or a short line that holds one.

    Stricter than :func:`date_in_text`, for plain text, which has no metadata to fall back on: the
    opening sentence of an encyclopedia passage (…生于香港…2016年6月…) is about events, not a dateline."""
    for line in [line.strip() for line in text.splitlines() if line.strip()][:lines]:
        rest = _DATELINE_LABEL.sub("", line, count=1)
        opens = _DATE.match(rest)
        if opens or len(line) <= DATELINE_SHORT:
            found = date_in_text(rest if opens else line, lines=1)
            if found:
                return found
    return ""


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise FormatError("the file is empty")


def _title(raw: object) -> str:
    """A metadata title worth showing, without the "Microsoft Word - x.docx" wrapping tools add."""
    title = re.sub(r"^Microsoft Word\s*-\s*", "", str(raw or "").strip(), flags=re.IGNORECASE)
    title = re.sub(r"\.(docx?|pdf|wps)$", "", title, flags=re.IGNORECASE).strip()
    return "" if title.lower() in _BOILERPLATE_TITLES else title


def _iso_day(value: object) -> str:
    return value.date().isoformat() if isinstance(value, datetime) else ""


def _width(line: str) -> int:
    """Display width: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _drop_page_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Remove page numbers, and running headers/footers repeated at the edge of most pages."""
    pages = [[ln for ln in page if not _PAGE_NUMBER.fullmatch(ln)] for page in pages]
    if len(pages) < 3:
        return pages

    def key(line: str) -> str:  # "第 3 期" and "第 4 期" are the same running header
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))

    counts: dict[str, int] = {}
    for page in pages:
        for k in {key(ln) for ln in page[:2] + page[-2:]}:
            counts[k] = counts.get(k, 0) + 1
    running = {k for k, n in counts.items() if n * 2 >= len(pages)}
    return [
        [ln for i, ln in enumerate(page) if not ((i < 2 or i >= len(page) - 2) and key(ln) in running)]
        for page in pages
    ]


def _paragraphs(lines: list[str]) -> list[str]:
    """Undo the PDF's line wrapping: join lines that continue a paragraph, even across pages.

    A line ends its paragraph when it ends a sentence, or stops well short of the usual line
    width (a title, a dateline, a paragraph's last line); an indented line starts a new one.
    """
    widths = sorted(_width(ln.strip()) for ln in lines if ln.strip())
    full = widths[int(len(widths) * 0.9)] if widths else 0
    paragraphs: list[str] = []
    previous = ""  # the last line of the paragraph being built; "" when the next line starts one
    for line in lines:
        text = line.strip()
        if not text:
            previous = ""
            continue
        if previous and not _INDENT.match(line) and not _SENTENCE_END.search(previous) \
                and _width(previous) >= 0.75 * full:
            a, b = paragraphs[-1][-1], text[0]
            latin = a.isascii() and a.isalnum() and b.isascii() and b.isalnum()
            paragraphs[-1] += (" " if latin else "") + text
        else:
            paragraphs.append(text)
        previous = text
    return paragraphs


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


def read_docx(path: Path) -> Extracted:
    """Paragraphs, headings (as Markdown) and tables (one line per row) of a Word .docx, in order.

    The declared unpacked size is checked before parsing; `zipfile` never inflates a member
    past its declared size, so the check cannot be dodged by lying in the zip directory.
    """
    import docx
    from docx.table import Table

    _check_not_empty(path)
    if not zipfile.is_zipfile(path):
        raise FormatError("not a Word .docx file (not a zip package)")
    blocks: list[str] = []
    first_heading = ""
    try:
        with zipfile.ZipFile(path) as zf:
            if sum(info.file_size for info in zf.infolist()) > MAX_UNPACKED_BYTES:
                raise FormatError(
                    f"the .docx would unpack to more than {MAX_UNPACKED_BYTES // 2**20} MB; refused as unsafe"
                )
        document = docx.Document(str(path))
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                rows = []
                for row in block.rows:
                    cells: list = []  # a merged cell is repeated in row.cells: keep it once
                    for cell in row.cells:
                        if not any(cell._tc is seen._tc for seen in cells):
                            cells.append(cell)
                    texts = [" ".join(c.text.split()) for c in cells]
                    if any(texts):
                        rows.append(" | ".join(texts))
                if rows:
                    blocks.append("\n".join(rows))
                continue
            text = block.text.strip()
            if not text:
                continue
            style = block.style.name if block.style is not None else ""
            level = 1 if style == "Title" else int(m[1]) if (m := re.fullmatch(r"Heading (\d)", style)) else 0
            if level == 1 and not first_heading:
                first_heading = text
            blocks.append(f"{'#' * min(level, 3)} {text}" if level else text)
        props = document.core_properties
        title, created = _title(props.title), _iso_day(props.created)
    except FormatError:
        raise
    except Exception as e:  # python-docx, zipfile and lxml errors alike
        raise FormatError(f"the Word document is damaged or unreadable: {e}") from e
    text = "\n\n".join(blocks)
    if not text:
        raise FormatError("the document has no text")
    return Extracted(text, title or first_heading, date_in_text(text) or created)


READERS: dict[str, Callable[[Path], Extracted]] = {".pdf": read_pdf, ".docx": read_docx}
