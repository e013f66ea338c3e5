"""OCR end to end (issue #32): pages rendered with the Noto CJK font, read by RapidOCR's bundled models.

Few tests, since OCR takes seconds a page on a shared 2-core machine: one accuracy check on a rendered
page, and one upload through the real server (a mixed PDF whose second page is a scan, a .pptx and an
.xlsx) whose job reports each OCR page, then /ask answers from each file with the figure highlighted.
"""
from __future__ import annotations

import difflib
import time
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.formats import Reading, read_image, read_pdf
from rag.serving import LiveServer
from tests.conftest import CORPUS
from tests.sample_files import chinese_pdf, rendered_page, scanned_pdf
from tests.test_kbs import wait
from tests.test_office import make_pptx, make_xlsx

pytest.importorskip("rapidocr", reason="OCR needs the ocr extra: pip install -e '.[ocr]'")

TITLE = "澜沧湖湿地调查报告"
SCANNED = [
    "澜沧湖湿地调查报告由青禾市林业局于2024年秋季完成，调查范围覆盖湖区及周边农田、河道和滩涂，共设置样线三十二条、样点一百零六个。",
    "调查共记录候鸟一百二十七种，其中国家一级重点保护野生动物九种，包括东方白鹳、黑鹳和白头鹤等；越冬水鸟总数约为43000只，比上次调查增加了百分之十八。",
    "报告建议继续实施退耕还湿工程，在湖区北岸新建监测站点三处，并于2026年前完成保护区总体规划的修编工作。",
]
TEXT_LAYER = "青禾市2025年新能源汽车产量目标为38万辆，比上年增长两成。"


def accuracy(truth: str, got: str) -> float:
    """Characters of ``truth`` that OCR got, in order (1 - a character error rate that ignores spaces)."""
    truth, got = "".join(truth.split()), "".join(got.split())
    matcher = difflib.SequenceMatcher(None, truth, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(truth), len(got))


def test_ocr_reads_a_rendered_page_accurately_into_paragraphs(tmp_path: Path) -> None:
    page = tmp_path / "page.png"
    rendered_page(SCANNED, title=TITLE).save(page)
    messages: list[str] = []
    settings = Settings(threads=1, ocr_cache_dir=tmp_path / "ocr")
    started = time.monotonic()
    got = read_image(page, Reading(settings, progress=messages.append, name="page.png"))
    seconds = time.monotonic() - started
    print(f"OCR of one rendered page: {seconds:.1f} s, accuracy {accuracy(TITLE + ''.join(SCANNED), got.text):.3f}")
    assert accuracy(TITLE + "".join(SCANNED), got.text) >= 0.97
    paragraphs = got.text.split("\n\n")
    assert len(paragraphs) == 4 and "43000只" in paragraphs[2]  # lines joined by layout: one paragraph each, not one per line
    assert got.ocr_spans == ((0, len(got.text)),) and messages == ["OCR (page.png)"]
    started = time.monotonic()
    assert read_image(page, Reading(settings)).text == got.text and time.monotonic() - started < 1  # read once, then cached


@pytest.fixture(scope="module")
def ocr_library(tmp_path_factory, settings, index_dir, embedder, reader):
    from rag.engine import Engine
    from web.app import create_app

    root = tmp_path_factory.mktemp("ocr-library")
    own = settings.model_copy(update={"kb_dir": root / "kbs", "ocr_cache_dir": root / "ocr", "corpus_dir": CORPUS,
                                      "index_dir": index_dir})
    with LiveServer(create_app(own, Engine(own, embedder, reader))) as live:
        yield live


def test_scans_slides_and_sheets_are_uploaded_read_in_the_job_and_cited(ocr_library, tmp_path: Path) -> None:
    text_page = chinese_pdf(tmp_path / "text.pdf", "青禾市新能源汽车产业规划", [TEXT_LAYER])
    mixed = scanned_pdf(tmp_path / "调查报告.pdf", [rendered_page(SCANNED, title=TITLE)], text_pages=text_page)
    import pypdf

    pages = pypdf.PdfReader(mixed).pages
    assert len(pages) == 2 and TEXT_LAYER[:10] in pages[0].extract_text() and not pages[1].extract_text().strip()
    deck, sheet = make_pptx(tmp_path / "水利汇报.pptx"), make_xlsx(tmp_path / "粮食产量.xlsx")
    with httpx.Client(base_url=ocr_library.url, timeout=60) as http:
        assert http.post("/kbs", json={"name": "扫描件"}).status_code == 201
        started = time.monotonic()
        reply = http.post("/kbs/扫描件/documents",
                          files=[("files", (p.name, p.read_bytes())) for p in (mixed, deck, sheet)])
        assert reply.status_code == 202, reply.text
        assert time.monotonic() - started < 10  # the request checks the scan; the job reads it
        ids = {d["filename"]: d["doc_id"] for d in reply.json()["documents"]}
        job, stages = reply.json()["job"], set()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            job = http.get(f"/jobs/{job['id']}").json()
            stages.add(job["stage"])
            if job["state"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert job["state"] == "done", job
        assert f"OCR page 1/1 ({mixed.name})" in stages, stages

        def ask(question: str) -> dict:
            body = http.post("/ask", json={"question": question, "kb": "扫描件"}).json()
            return body["citations"][0] | {"answer": body["answer"]}

        scanned = ask("澜沧湖越冬水鸟总数约为多少只")
        assert scanned["doc_id"] == ids[mixed.name] and scanned["ocr"] is True, scanned
        assert "43000" in scanned["text"][slice(*scanned["highlight"])]
        layer = ask("青禾市2025年新能源汽车产量目标是多少")
        assert layer["doc_id"] == ids[mixed.name] and layer["ocr"] is False  # a mixed PDF keeps its text layer
        assert "38万辆" in layer["text"][slice(*layer["highlight"])]
        slide = ask("湖区新增湿地面积为多少公顷")
        assert slide["doc_id"] == ids[deck.name] and "860公顷" in slide["text"][slice(*slide["highlight"])], slide
        cell = ask("澜沧县2024年粮食产量是多少万吨")
        assert cell["doc_id"] == ids[sheet.name] and cell["highlight"], cell
        assert "120万吨" in cell["text"][slice(*cell["highlight"])], cell
        assert cell["ocr"] is False and "地区：澜沧县；" in cell["text"] and "2024年产量：120万吨" in cell["text"]

        listed = http.get("/kbs/扫描件/documents").json()["documents"]
        assert {d["filename"] for d in listed if d["indexed"]} == {mixed.name, deck.name, sheet.name}


def test_scan_past_the_page_bound_fails_its_job_by_name(ocr_library, tmp_path: Path) -> None:
    """The upload request only sniffs (which pages lack a text layer is known once the PDF is parsed):
    the job refuses the scan by name and limit before OCR reads a page; a plainly bad file is a 4xx at once."""
    import pypdf

    blank = tmp_path / "blank.pdf"
    writer = pypdf.PdfWriter()
    for _ in range(5000):
        writer.add_blank_page(200, 200)
    writer.write(blank)
    with httpx.Client(base_url=ocr_library.url, timeout=60) as http:
        assert http.post("/kbs", json={"name": "页数"}).status_code == 201
        started = time.monotonic()
        reply = http.post("/kbs/页数/documents", files=[("files", (blank.name, blank.read_bytes()))])
        assert reply.status_code == 202 and time.monotonic() - started < 20, reply.text
        job = wait(http, reply.json()["job"])
        assert job["state"] == "failed" and job["refused"], job
        assert "blank.pdf" in job["error"] and "RAG_OCR_MAX_PAGES" in job["error"], job
        assert http.get("/kbs/页数/documents").json()["documents"] == []
        for name, content in (("photo.jpg", "不是图片".encode()), ("scan.pdf", b"%PDF-1.4\n" + bytes(100))):
            bad = http.post("/kbs/default/documents", files=[("files", (name, content))])
            assert bad.status_code == 400 and name in bad.json()["message"], bad.text
        macros = http.post("/kbs/default/documents", files=[("files", ("deck.pptm", b"PK\x03\x04"))])
        assert macros.status_code == 415 and "unsupported file type" in macros.json()["message"]
    with pytest.raises(Exception, match="RAG_OCR_MAX_PAGES"):
        read_pdf(blank, Reading(Settings(ocr_max_pages=10), ocr=False))
