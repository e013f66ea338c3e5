"""OCR of page images with RapidOCR (the ``ocr`` extra), and its lines joined into paragraphs by layout.

Only RapidOCR's default models are used: they ship inside its wheel, so nothing is downloaded at
run time (other model versions or languages would be fetched from the internet, which a server
here cannot do). The text read from a file is kept by the file's hash (``RAG_OCR_CACHE_DIR``), so
a rebuild of the index does not read the same scan again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from .base import _PAGE_NUMBER, FormatError, Reading, Unsupported

ENGINE_ID = "rapidocr-default-1"  # part of the cache key: a different engine or layout rule reads again
_ENGINE = None
_LOCK = threading.Lock()  # one page at a time: the engine holds ~1 GB while it works
MISSING = ("unsupported file type here: this file needs OCR (scanned pages or an image), and the OCR extra "
           "is not installed: pip install 'rag-zh[ocr]' (make run installs it)")


def available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    if not available():
        raise Unsupported(MISSING)


def _engine(threads: int):
    global _ENGINE
    if _ENGINE is None:
        import logging

        from rapidocr import RapidOCR

        _ENGINE = RapidOCR(params={"Global.log_level": "critical",
                                   "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                                   "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        logging.getLogger("RapidOCR").setLevel(logging.CRITICAL)
    return _ENGINE


@dataclass
class Line:
    text: str
    left: float
    right: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def read_lines(image, threads: int = 1) -> list[Line]:
    """The text lines on one page image (a PIL image), top to bottom; boxes on one line joined left to right."""
    import numpy as np

    with _LOCK:
        result = _engine(threads)(np.asarray(image.convert("RGB")))
    boxes = [] if result.boxes is None else result.boxes
    pieces = sorted(
        (Line(text.strip(), float(min(p[0] for p in box)), float(max(p[0] for p in box)),
              float(min(p[1] for p in box)), float(max(p[1] for p in box)))
         for box, text in zip(boxes, result.txts or ()) if text.strip()),
        key=lambda line: (line.top + line.bottom) / 2)
    lines: list[Line] = []
    for piece in pieces:
        last = lines[-1] if lines else None
        middle = (piece.top + piece.bottom) / 2
        if last and last.top <= middle <= last.bottom and piece.left >= last.left:
            gap = piece.left - last.right
            latin = last.text[-1:].isascii() and piece.text[:1].isascii()
            last.text += (" " if latin and gap > 0.3 * piece.height else "") + piece.text
            last.right, last.top, last.bottom = max(last.right, piece.right), min(last.top, piece.top), max(last.bottom, piece.bottom)
        else:
            lines.append(piece)
    for line in lines:
        line.text = re.sub(r"\s+", " ", line.text)
    return [line for line in lines if not _PAGE_NUMBER.fullmatch(line.text)]


def paragraphs(lines: list[Line]) -> list[str]:
    """Join a page's lines into paragraphs as a reader sees them: a line continues the paragraph above
    unless there is a wider gap before it, it is indented, or the line above stopped short of the margin."""
    if not lines:
        return []
    height = median(line.height for line in lines)
    gaps = [b.top - a.bottom for a, b in zip(lines, lines[1:]) if b.top > a.bottom]
    gap = median(gaps) if gaps else height * 0.5
    left = min(line.left for line in lines)
    right = max(line.right for line in lines)
    out: list[str] = []
    previous: Line | None = None
    for line in lines:
        joins = (previous is not None
                 and line.top - previous.bottom <= gap + 0.6 * height  # no blank space between them
                 and line.left - left < 1.2 * height  # not indented (a CJK indent is two characters)
                 and previous.right >= right - 1.5 * height)  # the line above runs to the margin
        if joins:
            a, b = out[-1][-1:], line.text[:1]
            out[-1] += (" " if a.isascii() and a.isalnum() and b.isascii() and b.isalnum() else "") + line.text
        else:
            out.append(line.text)
        previous = line
    return out


class Cache:
    """OCR text by file content hash: {page number: [paragraph, ...]}; a lost cache only costs time."""

    def __init__(self, path: Path, settings) -> None:
        folder = Path(settings.ocr_cache_dir or Path(settings.home) / "ocr")
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.file = folder / f"{digest.hexdigest()[:32]}-{ENGINE_ID}.json"
        try:
            self.pages: dict[str, list[str]] = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.pages = {}

    def get(self, page: int) -> list[str] | None:
        return self.pages.get(str(page))

    def put(self, page: int, texts: list[str]) -> None:
        self.pages[str(page)] = texts
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            staging = self.file.with_name(f".{self.file.name}.{uuid.uuid4().hex[:6]}")
            staging.write_text(json.dumps(self.pages, ensure_ascii=False), encoding="utf-8")
            os.replace(staging, self.file)
        except OSError:
            pass


def check_pixels(width: int, height: int, reading: Reading, what: str) -> None:
    limit = reading.settings.image_max_megapixels
    if width * height > limit * 1_000_000:
        raise FormatError(f"{what} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), more than the "
                          f"limit of {limit:g} megapixels (RAG_IMAGE_MAX_MEGAPIXELS); refused before decoding")


def check_pages(count: int, reading: Reading, what: str) -> None:
    limit = reading.settings.ocr_max_pages
    if count > limit:
        raise FormatError(f"{count} {what} need OCR, more than the limit of {limit} per file (RAG_OCR_MAX_PAGES); "
                          "split the file or raise the limit")


def read_pages(cache: Cache, pages: list[int], image_of, reading: Reading, paged: bool = True) -> dict[int, list[str]]:
    """OCR ``pages`` (numbers from 1; ``image_of(number)`` gives a PIL image), reporting "OCR page 3/20 (name)"
    (the count is of the pages OCR reads; a single image, ``paged=False``, says "OCR (name)")."""
    out = {}
    for done, number in enumerate(pages, start=1):
        cached = cache.get(number)
        if cached is None:
            label = f" ({reading.name})" if reading.name else ""
            reading.progress(f"OCR page {done}/{len(pages)}{label}" if paged else f"OCR{label}")
            image = image_of(number)
            low, high = image.convert("L").getextrema()
            blank = high - low < 16  # one flat colour: nothing to read (and no engine to load for it)
            cached = [] if blank else paragraphs(read_lines(image, threads=getattr(reading.settings, "threads", 1)))
            cache.put(number, cached)
        out[number] = cached
    return out
