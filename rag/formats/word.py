"""Word: .docx with python-docx, legacy .doc with Debian's ``antiword`` when it is installed."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from .base import (OLE_MAGIC, Extracted, FormatError, Reading, Unsupported, _check_not_empty, _iso_day, _title, check_office,
                   date_in_text)


def read_docx(path: Path, reading: Reading | None = None) -> Extracted:
    """Paragraphs, headings (as Markdown) and tables (one line per row) of a Word .docx, in order.

    Every member is inflated (into nothing) before parsing and the bytes that really come out are
    counted: the zip directory's sizes are only what the file claims.
    """
    import docx
    from docx.table import Table

    reading = reading or Reading()
    check_office(path, reading, "Word .docx")
    blocks: list[str] = []
    first_heading = ""
    try:
        document = docx.Document(str(path))
        for number, block in enumerate(document.iter_inner_content()):
            if number % 200 == 0:
                reading.check_time("the .docx")
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


ANTIWORD = "antiword"


def check_doc(magic: bytes) -> str:
    """The antiword to read a .doc starting with ``magic`` (its first 8 bytes) with; FormatError when it is
    not a Word 97–2003 file, Unsupported when this server has no antiword. The upload checks this much."""
    if magic[:4] == b"PK\x03\x04":
        raise FormatError("this is a .docx (zip) file named .doc: rename it to .docx")
    if magic[:8] != OLE_MAGIC:
        raise FormatError("not a Word .doc file (its content is not a Word 97–2003 document)")
    tool = shutil.which(ANTIWORD)
    if tool is None:
        raise Unsupported("unsupported file type here: reading .doc needs the antiword tool, which this server "
                          "does not have (apt-get install antiword, or `make tools`); or save the file as .docx")
    return tool


def read_doc(path: Path, reading: Reading | None = None) -> Extracted:
    """A legacy Word 97–2003 .doc through ``antiword -m UTF-8.txt`` (Debian package antiword)."""
    reading = reading or Reading()
    _check_not_empty(path)
    with open(path, "rb") as f:
        tool = check_doc(f.read(8))
    limit = reading.settings.parse_seconds
    try:
        done = subprocess.run([tool, "-m", "UTF-8.txt", str(path)], capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise FormatError(f"reading the .doc took longer than the limit of {limit:g} s (RAG_PARSE_SECONDS); refused") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise FormatError(f"the Word document is damaged or unreadable: {(why[-1] if why else 'antiword failed')[:200]}")
    lines = done.stdout.decode("utf-8", "replace").replace("\r", "").splitlines()
    # antiword wraps paragraphs and separates them with a blank line; tables come as "|a|b|" rows.
    paragraphs, current = [], []
    for line in lines + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            joined = current[0]
            for more in current[1:]:
                latin = joined[-1:].isascii() and joined[-1:].isalnum() and more[:1].isascii() and more[:1].isalnum()
                joined += (" " if latin else "") + more
            paragraphs.append(joined)
            current = []
    text = "\n\n".join(p for p in paragraphs if p)
    if not text:
        raise FormatError("the document has no text")
    return Extracted(text, "", date_in_text(text))
