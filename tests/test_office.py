"""PowerPoint, Excel, CSV, legacy Word and images: real files made in the test with their libraries;
bad ones (macros, passwords, a million empty rows, a decompression bomb, not an image) refused by name."""
from __future__ import annotations

import shutil
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from rag.config import Settings
from rag.documents import load_document
from rag.formats import READERS, FormatError, Reading, Unsupported, read_image, read_pptx, read_xlsx
from rag.formats.word import read_doc

pptx = pytest.importorskip("pptx")
openpyxl = pytest.importorskip("openpyxl")


def make_pptx(path: Path) -> Path:
    from pptx.util import Inches

    deck = pptx.Presentation()
    deck.core_properties.title = "青禾市水利工作汇报"
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "澜沧湖治理成效"
    first.placeholders[1].text_frame.text = "2024年澜沧湖水质由四类提升到二类。"
    first.placeholders[1].text_frame.add_paragraph().text = "湖区新增湿地面积为860公顷。"
    first.notes_slide.notes_text_frame.text = "汇报时强调治理资金来自市财政。"
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only, a table added
    second.shapes.title.text = "主要指标"
    table = second.shapes.add_table(3, 3, Inches(1), Inches(2), Inches(6), Inches(1.5)).table
    for r, row in enumerate([["指标", "2023年", "2024年"], ["污水处理率", "91%", "96%"], ["监测站点", "12个", "18个"]]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    deck.slides.add_slide(deck.slide_layouts[6])  # a blank slide: no text, no section
    deck.save(path)
    return path


def make_xlsx(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "粮食产量"
    sheet.append(["地区", "2023年产量（万吨）", "2024年产量（万吨）", "统计日期"])
    sheet.append(["青禾市", 371.2, 386.5, datetime(2025, 1, 15)])
    sheet.append(["澜沧县", 118, 120, datetime(2025, 1, 15)])
    sheet.append([])
    sheet.append(["合计", "=B2+B3", None, None])  # a formula cell: openpyxl saved it without a value
    other = book.create_sheet("说明")
    other.append(["数据来源：青禾市统计局。"])
    book.properties.title = "粮食产量统计"
    book.save(path)
    return path


def test_pptx_one_section_per_slide_with_notes_and_table(tmp_path: Path) -> None:
    got = read_pptx(make_pptx(tmp_path / "汇报.pptx"))
    assert got.text.split("\n\n") == [
        "## 澜沧湖治理成效", "2024年澜沧湖水质由四类提升到二类。", "湖区新增湿地面积为860公顷。", "备注：汇报时强调治理资金来自市财政。",
        "## 主要指标", "指标：污水处理率；2023年：91%；2024年：96%。", "指标：监测站点；2023年：12个；2024年：18个。",
        "## 第3页",
    ]
    assert got.title == "青禾市水利工作汇报"


def test_xlsx_rows_keep_their_column_names_and_row_labels(tmp_path: Path) -> None:
    got = read_xlsx(make_xlsx(tmp_path / "产量.xlsx"))
    assert got.text.split("\n\n") == [
        "## 粮食产量",
        "地区：青禾市；2023年产量：371.2万吨；2024年产量：386.5万吨；统计日期：2025-01-15。",  # the unit back on its figure
        "地区：澜沧县；2023年产量：118万吨；2024年产量：120万吨；统计日期：2025-01-15。",
        "地区：合计。",  # the formula has no saved value (see README)
        "## 说明", "数据来源：青禾市统计局。",
    ]
    assert got.title == "粮食产量统计"


def test_xlsx_with_a_million_empty_rows_is_read_in_bounded_time(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "稀疏.xlsx")
    book = openpyxl.load_workbook(path)
    book["粮食产量"].cell(row=1_048_576, column=1, value="最后一行")  # the used range claims the whole sheet
    book.save(path)
    started = time.monotonic()
    got = read_xlsx(path)
    assert time.monotonic() - started < 5
    assert "地区：青禾市" in got.text and "最后一行" not in got.text  # reading stopped after 1,000 empty rows
    with pytest.raises(FormatError, match=r"more than 2 rows.*RAG_SHEET_MAX_ROWS"):
        read_xlsx(path, Reading(Settings(sheet_max_rows=2)))


def test_password_protected_xlsx_is_refused(tmp_path: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain, locked = make_xlsx(tmp_path / "plain.xlsx"), tmp_path / "locked.xlsx"
    with open(plain, "rb") as source, open(locked, "wb") as out:
        ooxml.OOXMLFile(source).encrypt("secret", out)
    with pytest.raises(FormatError, match="password-protected"):
        read_xlsx(locked)


def _with_macros(source: Path, target: Path) -> Path:
    """``source`` as PowerPoint saves a macro-enabled deck: its main part typed macroEnabled, a vbaProject.bin."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"presentationml.presentation.main+xml", b"ms-powerpoint.presentation.macroEnabled.main+xml")
            zout.writestr(info, data)
        zout.writestr("ppt/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(1000))
    return target


def test_macro_enabled_presentation_is_refused_even_renamed(tmp_path: Path) -> None:
    deck = _with_macros(make_pptx(tmp_path / "a.pptx"), tmp_path / "macros.pptx")
    with pytest.raises(Unsupported, match="macros"):
        read_pptx(deck)
    assert ".pptm" not in READERS


def test_image_bad_inputs(tmp_path: Path) -> None:
    from PIL import Image

    fake = tmp_path / "photo.png"
    fake.write_text("这不是图片", encoding="utf-8")
    with pytest.raises(FormatError, match="not an image"):
        read_image(fake)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000), 1).save(bomb)  # 400 megapixels of white: about 60 KB on disk
    assert bomb.stat().st_size < 200_000
    started = time.monotonic()
    with pytest.raises(FormatError, match="megapixels") as raised:
        read_image(bomb, Reading(ocr=False))
    assert time.monotonic() - started < 1 and "RAG_IMAGE_MAX_MEGAPIXELS" in str(raised.value)
    mid = tmp_path / "mid.png"
    Image.new("1", (9_000, 7_000), 1).save(mid)  # 63 MP: under Pillow's own bound, over ours (50)
    with pytest.raises(FormatError, match=r"9000×7000 pixels .*RAG_IMAGE_MAX_MEGAPIXELS"):
        read_image(mid, Reading(ocr=False))
    truncated = tmp_path / "cut.jpg"
    Image.new("RGB", (400, 300), (200, 10, 10)).save(tmp_path / "whole.jpg")
    truncated.write_bytes((tmp_path / "whole.jpg").read_bytes()[:400])
    with pytest.raises(FormatError, match="damaged"):
        read_image(truncated, Reading(ocr=False))


def test_doc_needs_antiword_and_says_so(tmp_path: Path, monkeypatch) -> None:
    docx_named_doc = tmp_path / "renamed.doc"
    shutil.copyfile(make_pptx(tmp_path / "x.pptx"), docx_named_doc)
    with pytest.raises(FormatError, match="rename it"):
        read_doc(docx_named_doc)
    ole = tmp_path / "old.doc"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    monkeypatch.setattr("rag.formats.word.shutil.which", lambda name: None)
    with pytest.raises(Unsupported, match="antiword"):
        load_document(ole)


def test_doc_through_antiword(tmp_path: Path) -> None:
    if shutil.which("antiword") is None:
        pytest.skip("antiword is not installed (make tools installs it as root)")
    ole = tmp_path / "broken.doc"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))  # a compound file holding no Word stream
    with pytest.raises(FormatError, match="damaged or unreadable"):
        read_doc(ole)
