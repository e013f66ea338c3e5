"""Spreadsheets (.xlsx with openpyxl, .csv): each row one line of "header：value" pairs.

openpyxl reads the values a spreadsheet program saved: a formula cell of a file written by a
script (never opened and saved in Excel/LibreOffice) has no value and reads as empty.
Bounded: ``RAG_SHEET_MAX_ROWS`` rows per sheet, and a sheet ends after ``EMPTY_RUN`` empty rows in a row.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time
from pathlib import Path

from .base import Extracted, FormatError, Reading, _iso_day, _title, check_office, date_in_text
from .slides import row_lines
from .text import decode

EMPTY_RUN = 1000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.10g}" if not value.is_integer() or abs(value) >= 1e15 else str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def _rows(values, reading: Reading, what: str) -> list[list[str]]:
    """Rows until the row cap or a long run of empty rows (a sheet whose used range claims a million rows)."""
    limit, rows, empty = reading.settings.sheet_max_rows, [], 0
    for number, row in enumerate(values, start=1):
        if number > limit:
            raise FormatError(f"{what} has more than {limit} rows, the limit (RAG_SHEET_MAX_ROWS); split it or raise the limit")
        if number % 1000 == 0:
            reading.check_time(what)
        cells = [_cell(v) for v in row]
        if any(cells):
            rows.append(cells)
            empty = 0
        else:
            empty += 1
            if empty >= EMPTY_RUN:
                break
    return rows


def read_xlsx(path: Path, reading: Reading | None = None) -> Extracted:
    import openpyxl

    reading = reading or Reading()
    check_office(path, reading, "Excel .xlsx")
    blocks: list[str] = []
    try:
        book = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
        try:
            several = len(book.worksheets) > 1
            for sheet in book.worksheets:
                lines = row_lines(_rows(sheet.iter_rows(values_only=True), reading, f"sheet {sheet.title!r}"))
                if lines:
                    if several:
                        blocks.append(f"## {sheet.title}")
                    blocks.extend(lines)
            title, created = _title(book.properties.title), _iso_day(book.properties.created)
        finally:
            book.close()
    except FormatError:
        raise
    except Exception as e:  # openpyxl, zipfile and lxml errors alike
        raise FormatError(f"the spreadsheet is damaged or unreadable: {e}"[:300]) from e
    if not blocks:
        raise FormatError("the spreadsheet has no values")
    text = "\n\n".join(blocks)
    return Extracted(text, title, date_in_text(text) or created)


def read_csv(path: Path, reading: Reading | None = None) -> Extracted:
    reading = reading or Reading()
    text = decode(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = _rows(csv.reader(io.StringIO(text), dialect), reading, "the CSV file")
    except csv.Error as e:
        raise FormatError(f"the CSV file is malformed: {e}") from None
    lines = row_lines(rows)
    if not lines:
        raise FormatError("the CSV file has no values")
    body = "\n\n".join(lines)
    return Extracted(body, "", date_in_text(body))
