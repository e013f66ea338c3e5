"""What every format reader shares: the error type, the result, dates, and undoing line wrapping.

Uploaded files are untrusted: every failure becomes a `FormatError` whose message can be shown
to the user as is, never a library traceback.  The text keeps the structure that helps chunking
and citing: paragraphs separated by one blank line, Word headings as Markdown "#" lines.
"""
from __future__ import annotations

import re
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable


class FormatError(ValueError):
    """A file that cannot be read as what its name says; the message says why in plain words (it is shown to users)."""


class Unsupported(FormatError):
    """The file may be fine, but this server cannot read its kind (a missing tool or extra, a refused type)."""


@dataclass(frozen=True)
class Extracted:
    text: str  # paragraphs separated by one blank line; headings as Markdown "# " / "## " lines
    title: str  # "" when unknown: the caller falls back (e.g. to the file name)
    date: str  # "YYYY-MM-DD" (or "YYYY-MM" / "YYYY"), "" when unknown
    ocr_spans: tuple[tuple[int, int], ...] = ()  # [start, end) ranges of `text` that OCR read off page images
    ocr_pending: int = 0  # pages (images) left for OCR when read with Reading(ocr=False): the text is not whole yet


@dataclass
class Reading:
    """How to read one file: the limits (``rag.config.Settings``), whether OCR may run now, and whom to tell.

    The upload request reads with ``ocr=False``: everything is checked (type, size, pages, page bound)
    but page images are left for the index job, which reads with ``ocr=True`` and reports each page."""

    settings: object = None
    ocr: bool = True
    progress: Callable[[str], None] = lambda message: None
    name: str = ""  # the file's name as the user knows it (for progress and errors)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.settings is None:
            from ..config import get_settings

            self.settings = get_settings()

    def check_time(self, what: str) -> None:
        """Raise once this file has taken longer than ``parse_seconds`` (OCR is not timed here: it runs after the
        text is read, and the index job's reader allows each OCR page that long again)."""
        limit = self.settings.parse_seconds
        if time.monotonic() - self.started > limit:
            raise FormatError(f"reading {what} took longer than the limit of {limit:g} s (RAG_PARSE_SECONDS); refused")


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: legacy Office, or an Office file encrypted with a password


def check_not_ole(magic: bytes, kind: str) -> None:
    """An Office Open XML file starting as a Compound File: encrypted, or the old format renamed."""
    if magic[:8] == OLE_MAGIC:
        raise FormatError(f"the {kind} is password-protected (encrypted) or in the old binary format; "
                          f"remove the password / save it as {kind} and upload it again")


def check_office(path: Path, reading: Reading, kind: str) -> None:
    """An Office Open XML file (.docx .pptx .xlsx) that is safe to hand to its library: a zip, no macros,
    and no more inflated bytes than the limit (see :func:`check_unpacked`)."""
    _check_not_empty(path)
    with open(path, "rb") as f:
        check_not_ole(f.read(8), kind)
    if not zipfile.is_zipfile(path):
        raise FormatError(f"not a {kind} file (not a zip package)")
    check_unpacked(path, reading, kind)
    try:
        with zipfile.ZipFile(path) as zf:
            types = zf.read("[Content_Types].xml") if "[Content_Types].xml" in zf.namelist() else b""
    except Exception as e:
        raise FormatError(f"the {kind} is damaged or unreadable: {e}") from e
    if b"macroEnabled" in types or b"vbaProject" in types:
        raise Unsupported(f"unsupported file type: the {kind} holds macros (a .docm/.pptm/.xlsm renamed); "
                          f"save it as a plain {kind} without macros")


def check_unpacked(path: Path, reading: Reading, kind: str) -> None:
    """Inflate every member of an Office (zip) file into nothing, counting the bytes that really come out.

    The zip directory's sizes are what the file claims; the count is what parsing would hold in memory."""
    limit = int(reading.settings.office_max_unpacked_mb * 2**20)
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as member:
                    while block := member.read(1 << 20):
                        total += len(block)
                        if total > limit:
                            raise FormatError(
                                f"the {kind} would unpack to more than {reading.settings.office_max_unpacked_mb:g} MB "
                                "(RAG_OFFICE_MAX_UNPACKED_MB); refused as unsafe")
    except FormatError:
        raise
    except Exception as e:  # BadZipFile, a CRC error, an unsupported compression method
        raise FormatError(f"the {kind} is damaged or unreadable: {e}") from e

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
    title = re.sub(r"^Microsoft Word\s*-\s*", "", str(raw or "")[:1000].strip(), flags=re.IGNORECASE)
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
