"""Word: .docx with python-docx."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .base import Extracted, FormatError, MAX_UNPACKED_BYTES, _check_not_empty, _iso_day, _title, date_in_text


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
