"""Load articles from a folder: Markdown/text with optional front matter, HTML (main text only), and the
formats of ``rag.formats``: PDF (scans by OCR), Word, PowerPoint, Excel/CSV and images.

A file may have a sidecar ``<file>.meta.json`` (written for uploads): the original file name, when it
was added, and a title or date the user set, which win over what the file itself says.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import yaml

TEXT_SUFFIXES = (".md", ".txt", ".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + (".pdf", ".docx", ".doc", ".pptx", ".xlsx", ".csv", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
SIDECAR = ".meta.json"
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_DATE_IN_NAME = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


class CorpusError(Exception):
    """The corpus folder is missing or holds nothing that can be indexed."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    date: str = ""
    source: str = ""
    path: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        head = f"{self.title}\n{self.date}\n{self.source}\n"
        return hashlib.sha256((head + self.text).encode("utf-8")).hexdigest()


class _NoAliases(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases: front matter never needs them, and an alias
    bomb (a few hundred bytes of nested ``*a`` references) expands to gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "front matter must not use YAML aliases (*name)", event.start_mark)
        return super().compose_node(parent, index)


FRONT_MATTER_MAX_KB = 64  # the default of RAG_FRONT_MATTER_MAX_KB


def split_front_matter(raw: str, max_kb: float = FRONT_MATTER_MAX_KB) -> tuple[dict, str]:
    """Return (front matter, body). Text without a front matter block is all body."""
    if not raw.startswith("---"):
        return {}, raw
    end = raw.find("\n---", 0, int(max_kb * 1024) + 8)
    if end == -1 and raw.find("\n---") != -1:
        raise ValueError(f"the front matter is larger than the limit of {max_kb:g} KB (RAG_FRONT_MATTER_MAX_KB)")
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    meta = yaml.load(match.group(1), Loader=_NoAliases) or {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a key: value mapping")
    return {str(k): v for k, v in meta.items()}, raw[match.end():]


class _MainText(HTMLParser):
    """Collect paragraph text, preferring <article>/<main>, skipping scripts, navigation and chrome."""

    SKIP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "form"}
    BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "br", "section", "article", "main", "tr", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self._stack: list[str] = []
        self._skip = 0
        self._in_title = False
        self.parts: dict[str, list[str]] = {"main": [], "body": []}
        self._main_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in ("article", "main"):
            self._main_depth += 1
        if tag in self.BLOCKS:
            self._emit("\n\n")
        if tag in ("h1", "h2", "h3") and not self._skip:
            self._emit("#" * int(tag[1]) + " ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in ("article", "main") and self._main_depth:
            self._main_depth -= 1
        if tag in self.BLOCKS:
            self._emit("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data.strip()
        elif not self._skip:
            self._emit(re.sub(r"\s+", " ", data))

    def _emit(self, text: str) -> None:
        self.parts["body"].append(text)
        if self._main_depth:
            self.parts["main"].append(text)

    def text(self) -> str:
        chosen = "".join(self.parts["main"]) if "".join(self.parts["main"]).strip() else "".join(self.parts["body"])
        lines = [line.strip() for line in chosen.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _date_from_name(stem: str) -> str:
    match = _DATE_IN_NAME.search(stem)
    if not match:
        return ""
    return "-".join(part for part in match.groups() if part)


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR)


def read_sidecar(path: Path) -> dict:
    """The sidecar of ``path`` ({} when there is none or it is unreadable: the file still loads)."""
    try:
        meta = json.loads(sidecar_of(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _first_heading(text: str) -> str:
    return next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")), "")


TITLE_LINE_CHARS = 40  # a plain-text first line this short that ends no sentence is its title


def _title_line(text: str) -> str:
    """A plain text's title: its first line, when that is short, ends no sentence, is no dateline
    and more text follows ("" otherwise). Text files carry no metadata; the file name says less."""
    from .formats import dateline

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or len(lines[0]) > TITLE_LINE_CHARS or re.search(r"[。！？!?；;：:，,、…]$", lines[0]):
        return ""
    return "" if dateline(lines[0], lines=1) else lines[0].lstrip("#").strip()


def _cut(value: object, limit: int) -> str:
    text = str(value)[:limit + 1]
    return text if len(text) <= limit else text[:limit - 1] + "…"


def load_document(path: Path, root: Path | None = None, filename: str | None = None, *, settings=None,
                  ocr: bool = True, progress=None) -> Document:
    """Read one article. Raises ValueError when it cannot be read (a ``FormatError`` saying why).

    ``filename`` is the name the file came with, when it is stored under another (an upload).
    ``ocr=False`` checks a file that needs OCR without running it (the upload request: the index
    job reads it): the Document then has the text found so far and ``meta["ocr_pending"]`` pages.
    ``progress(message)`` hears "OCR page 3/20 (name)"; ``settings`` bound the readers (default: the environment's).
    """
    from .config import get_settings
    from .formats import READERS, Reading, dateline, decode

    settings = settings or get_settings()
    doc_id = path.relative_to(root).with_suffix("").as_posix() if root else path.stem
    suffix = path.suffix.lower()
    side = read_sidecar(path)
    name = Path(str(side.get("filename") or filename or path.name))
    pending = 0
    if suffix in READERS:
        reading = Reading(settings, ocr=ocr, progress=progress or (lambda message: None), name=name.name)
        extracted = READERS[suffix](path, reading)
        meta, body = {"title": extracted.title or _first_heading(extracted.text), "date": extracted.date}, extracted.text
        if extracted.ocr_spans:
            meta["ocr_spans"] = [list(span) for span in extracted.ocr_spans]
        pending = extracted.ocr_pending
    else:
        raw = decode(path.read_bytes())
        if suffix in (".html", ".htm"):
            parser = _MainText()
            parser.feed(raw)
            parser.close()
            meta, body = {"title": parser.title}, parser.text()
            meta["title"] = meta["title"] or _first_heading(body)  # no <title>: its first <h1>–<h3>
        else:
            meta, body = split_front_matter(raw, settings.front_matter_max_kb)
            if not meta.get("title"):  # a Markdown "# heading", else a title line
                meta["title"] = _first_heading(body) or _title_line(body)
    if not body.strip() and not pending:
        raise ValueError("no text")
    if pending:
        meta["ocr_pending"] = pending
    # Plain text without a date in front matter or name: a dateline at its top (not any date in its first sentence).
    date = side.get("date") or meta.get("date") or _date_from_name(name.stem) or (dateline(body) if suffix not in READERS else "")
    limit = settings.title_max_chars
    return Document(
        doc_id=doc_id,
        title=_cut(side.get("title") or meta.get("title") or name.stem, limit),
        text=body,
        date=_cut(date, 40),
        source=_cut(meta.get("source") or side.get("filename") or filename or "", limit),
        path=str(path),
        meta={k: v for k, v in meta.items() if k not in ("title", "date", "source")},
    )


def load_corpus(folder: Path, settings=None, progress=None) -> tuple[list[Document], list[str]]:
    """Load every article under ``folder``; return (documents, one message per file that was skipped).

    ``progress(message)`` hears what takes time (each page OCR reads)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"corpus folder not found: {folder}")
    documents, skipped = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            documents.append(load_document(path, folder, settings=settings, progress=progress))
        except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:  # FormatError is a ValueError
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc).splitlines()[0]
            skipped.append(f"{path}: skipped ({reason})")
    if not documents:
        raise CorpusError(f"no readable articles ({', '.join(SUFFIXES)}) in {folder}")
    return documents, skipped
