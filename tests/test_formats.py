"""rag.formats on real files built in the test: PDFs from fpdf2/pypdf, .docx from python-docx."""
from __future__ import annotations

import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.sample_files import cjk_font, encrypted_pdf, zip_bomb
from rag.config import Settings
from rag.formats import READERS, FormatError, _paragraphs, date_in_text, read_docx, read_pdf

fpdf = pytest.importorskip("fpdf")
pypdf = pytest.importorskip("pypdf")
docx = pytest.importorskip("docx")

HEADER = "石家庄日报 2024年9月2日"
TITLE = "石家庄举办第十届全民健身秋季运动会"
DATELINE = "2024年9月2日"
# One long sentence (commas only), so wherever fpdf2 wraps it no line ends a sentence: the reader
# must join every line, including the one at the page break, to get it back whole.
LONG = (
    "本报讯九月一日上午，第十届全民健身秋季运动会在石家庄市体育中心开幕，来自全市各县区的"
    "两千余名运动员参加了开幕式，本届运动会共设田径、游泳、篮球、乒乓球、羽毛球等十八个大项，"
    "比赛将持续到九月底，主办方表示，运动会期间体育中心的场馆向市民免费开放，市民可以通过"
    "官方网站预约参观，还可以在现场参加趣味运动项目和健身知识讲座，组委会还特别安排了志愿者"
    "在各个入口为老年人和残疾人提供引导服务，公交公司也为此增开了多条临时线路，方便市民"
    "往返体育中心与主城区之间，据了解，本届运动会首次引入电子计时和成绩实时发布系统，观众"
    "可以在手机上随时查看各项比赛的成绩和排名。"
)
SECOND = "闭幕式将于九月三十日晚举行，届时将公布各代表团的总成绩并颁发体育道德风尚奖。"


class _Newspaper(fpdf.FPDF):
    def header(self) -> None:
        self.set_font("cjk", size=9)
        self.cell(0, 6, HEADER, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=9)
        self.cell(0, 6, f"- {self.page_no()} -", align="C")


@pytest.fixture(scope="module")
def chinese_pdf(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    font = cjk_font(folder / "cjk.ttf", HEADER + TITLE + DATELINE + LONG + SECOND + "- 0123456789")
    pdf = _Newspaper(format=(120, 90))  # small pages: the long paragraph runs over 3 of them
    pdf.set_margins(12, 10)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("cjk", fname=str(font))
    pdf.set_title("Microsoft Word - 秋季运动会.docx")
    pdf.add_page()
    pdf.set_font("cjk", size=11)
    for text in (TITLE, DATELINE, LONG, SECOND):
        pdf.multi_cell(0, 7, text, align="L", wrapmode="CHAR", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    path = folder / "news.pdf"
    pdf.output(str(path))
    return path


def test_pdf_with_chinese_text(chinese_pdf: Path) -> None:
    pages = [p.extract_text() for p in pypdf.PdfReader(chinese_pdf).pages]
    assert len(pages) >= 3 and all(HEADER in p for p in pages)
    assert LONG[:20] in pages[0] and LONG not in "".join(pages)  # really wrapped and split by pages
    split = pages[0].splitlines()[-2][-2:] + pages[1].splitlines()[1][:2]  # the words at the break
    assert split in LONG and split not in pages[0] + pages[1]

    got = read_pdf(chinese_pdf)
    paragraphs = got.text.split("\n\n")
    assert paragraphs == [TITLE, DATELINE, LONG, SECOND]  # header, page numbers gone; lines rejoined
    assert split in got.text
    assert "石家庄日报" not in got.text and "- 2 -" not in got.text
    assert got.title == "秋季运动会" and got.date == "2024-09-02"


def test_pdf_survives_pypdf_round_trip(chinese_pdf: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.pdf"
    pypdf.PdfWriter(clone_from=chinese_pdf).write(copy)
    assert read_pdf(copy).text == read_pdf(chinese_pdf).text


def test_pdf_metadata_fallbacks_and_latin_joining(tmp_path: Path) -> None:
    pdf = fpdf.FPDF()
    pdf.set_title("Untitled")
    pdf.set_creation_date(datetime(2021, 5, 6, 12, 0, tzinfo=timezone.utc))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    words = "The quick brown fox jumps over the lazy dog near the river bank " * 6
    pdf.multi_cell(0, 6, words.strip() + ".", align="L")
    path = tmp_path / "latin.pdf"
    pdf.output(str(path))
    got = read_pdf(path)
    assert got.text == words.strip() + "."  # lines joined with one space, no word glued together
    assert (got.title, got.date) == ("", "2021-05-06")


def test_paragraph_rules() -> None:
    full = "这一行写满了整整一行的文字内容"
    assert _paragraphs([full, "接下去。", full, "　　缩进开始新段", "Ends with a word that is long", "next"]) == [
        full + "接下去。", full, "　　缩进开始新段".strip(), "Ends with a word that is long next"
    ]


def test_docx_headings_tables_title_date(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "年度工作报告"
    document.add_heading("总体情况", level=1)
    document.add_paragraph("发布日期：2024年9月2日")
    document.add_paragraph("")  # empty paragraphs are skipped
    document.add_paragraph("今年全市经济平稳运行。")
    document.add_heading("主要数据", level=2)
    table = document.add_table(rows=2, cols=3)
    for cell, text in zip(table.rows[0].cells, "abc"):
        cell.text = text
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "合并"
    table.cell(1, 2).text = "右"
    document.add_paragraph("表后的段落。")
    path = tmp_path / "report.docx"
    document.save(path)

    got = read_docx(path)
    assert got.text.split("\n\n") == [
        "# 总体情况", "发布日期：2024年9月2日", "今年全市经济平稳运行。", "## 主要数据", "a | b | c\n合并 | 右", "表后的段落。"
    ]
    assert (got.title, got.date) == ("年度工作报告", "2024-09-02")
    assert READERS[".docx"] is read_docx and READERS[".pdf"] is read_pdf


def test_docx_title_and_date_fallbacks(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = ""
    document.core_properties.created = datetime(2023, 3, 4, 8, 0)
    document.add_heading("通知标题", level=0)  # level 0 is the "Title" style
    document.add_heading("第三级", level=3)
    document.add_paragraph("没有日期的正文。")
    path = tmp_path / "notice.docx"
    document.save(path)
    got = read_docx(path)
    assert got.text == "# 通知标题\n\n### 第三级\n\n没有日期的正文。"
    assert (got.title, got.date) == ("通知标题", "2023-03-04")


def _blank_pdf(path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(path)


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.pdf", lambda p: p.write_bytes(b""), "empty"),
        ("empty.docx", lambda p: p.write_bytes(b""), "empty"),
        ("random.pdf", lambda p: p.write_bytes(os.urandom(4096)), "not a PDF"),
        ("program.pdf", lambda p: p.write_bytes(b"\x7fELF" + os.urandom(4096)), "not a PDF"),
        ("locked.pdf", encrypted_pdf, "password"),
        ("blank.pdf", _blank_pdf, "no text layer"),
        ("broken.pdf", lambda p: p.write_bytes(b"%PDF-1.7\n" + os.urandom(4096)), "damaged"),
        ("notzip.docx", lambda p: p.write_text("只是一段文字，不是 Word 文件"), "not a zip"),
        ("bomb.docx", zip_bomb, "unpack"),
        ("other.docx", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "x"), "damaged"),
    ],
)
def test_bad_files_raise_readable_errors(tmp_path: Path, name: str, make, message: str) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(FormatError, match=message) as raised:
        READERS[path.suffix](path)
    assert "Traceback" not in str(raised.value) and len(str(raised.value)) < 300
    if name == "bomb.docx":
        assert path.stat().st_size < 2 * 1024 * 1024 and Settings().office_max_unpacked_mb < 250


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("石家庄日报\n2024年9月2日 星期一\n正文", "2024-09-02"),
        ("发布时间：2024-9-2 10:30", "2024-09-02"),
        ("2024/09/02", "2024-09-02"),
        ("2024.9.2", "2024-09-02"),
        ("2024年9月", "2024-09"),
        ("2024 年 10 月 1 日", "2024-10-01"),
        ("版本 2024.13.40 与 2023-02-30 都不是日期，2022-12-31 才是", "2022-12-31"),
        ("电话 12024-9-2", ""),
        ("没有日期", ""),
        ("\n".join(["一行"] * 10 + ["2024年9月2日"]), ""),  # only the first lines count
    ],
)
def test_date_in_text(text: str, expected: str) -> None:
    assert date_in_text(text) == expected
