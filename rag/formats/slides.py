"""PowerPoint .pptx with python-pptx: one section per slide, its title as the heading, its notes kept."""
from __future__ import annotations

import re
from pathlib import Path

from .base import Extracted, FormatError, Reading, _iso_day, _title, check_office, date_in_text


def _shape_texts(shapes) -> list[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    out = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            out.extend(_shape_texts(shape.shapes))
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in shape.table.rows]
            out.extend(row_lines(rows))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            for paragraph in shape.text_frame.paragraphs:
                text = " ".join(paragraph.text.split())
                if text:
                    out.append(text)
    return out


def _sentence(line: str) -> str:
    """A row ends as a sentence, so the chunker never takes it for a heading."""
    return line if line[-1:] in "。！？!?；;." else line + "。"


_UNIT = re.compile(r"^(.+?)\s*[（(]\s*([^（）()\d]{1,6}?)\s*[）)]$")  # 产量（万吨）: a column name with its unit
_NUMBER = re.compile(r"^[-+]?\d[\d,]*(?:\.\d+)?$")


def _pair(name: str, value: str) -> str:
    """``产量（万吨）`` and ``120`` -> ``产量：120万吨``: the unit goes back to its figure, as the text would write it."""
    unit = _UNIT.match(name)
    if unit and _NUMBER.match(value):
        return f"{unit[1]}：{value}{unit[2]}"
    return f"{name}：{value}" if name else value


def row_lines(rows: list[list[str]]) -> list[str]:
    """A table as one line per row, "header：value" for each cell, so a figure keeps its column name
    and its row label: ``地区：青禾市；2024年产量：135万吨。`` The first non-empty row is the header."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header, lines = [cell.strip() for cell in rows[0]], []
    if len(rows) == 1:
        return [_sentence("；".join(cell for cell in header if cell))]
    for row in rows[1:]:
        parts = []
        for i, cell in enumerate(row):
            cell = cell.strip()
            if cell:
                name = header[i] if i < len(header) and header[i] else ""
                parts.append(_pair(name, cell))
        if parts:
            lines.append(_sentence("；".join(parts)))
    return lines


def read_pptx(path: Path, reading: Reading | None = None) -> Extracted:
    from pptx import Presentation

    reading = reading or Reading()
    check_office(path, reading, "PowerPoint .pptx")
    blocks: list[str] = []
    first_title = ""
    try:
        deck = Presentation(str(path))
        for number, slide in enumerate(deck.slides, start=1):
            reading.check_time(f"slide {number}")
            title_shape = slide.shapes.title
            title = " ".join(title_shape.text.split()) if title_shape is not None and title_shape.has_text_frame else ""
            first_title = first_title or title
            blocks.append(f"## {title}" if title else f"## 第{number}页")
            others = [shape for shape in slide.shapes if title_shape is None or shape.shape_id != title_shape.shape_id]
            blocks.extend(_shape_texts(others))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                notes = [" ".join(p.text.split()) for p in slide.notes_slide.notes_text_frame.paragraphs]
                blocks.extend(f"备注：{n}" if i == 0 else n for i, n in enumerate(n for n in notes if n))
        props = deck.core_properties
        title, created = _title(props.title), _iso_day(props.created)
    except FormatError:
        raise
    except Exception as e:  # python-pptx, zipfile and lxml errors alike
        raise FormatError(f"the presentation is damaged or unreadable: {e}"[:300]) from e
    if not any(not b.startswith("## ") for b in blocks):
        raise FormatError("the presentation has no text")
    text = "\n\n".join(blocks)
    return Extracted(text, title or first_title, date_in_text(text) or created)
