"""Knowledge bases over HTTP on a real server: upload PDF and Word, ask, delete, a second base, bad input."""

from __future__ import annotations

import os
import shutil
import time
import zlib

import httpx
import pytest

from tests.conftest import CORPUS
from tests.sample_files import chinese_pdf, encrypted_pdf, word_docx, zip_bomb

DOCX_FACT = "青禾市2025年新能源汽车产量目标为38万辆，比上年增长两成。"
PDF_FACT = "澜沧湖湿地保护区面积为4260公顷，栖息着一百二十多种候鸟。"


@pytest.fixture()
def http(library):
    with httpx.Client(base_url=library.url, timeout=60) as client:
        yield client


def wait(http: httpx.Client, job: dict, seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = http.get(f"/jobs/{job['id']}").json()
        if state["state"] in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job['id']} did not finish: {state}")


def upload(http: httpx.Client, kb: str, *files) -> httpx.Response:
    return http.post(f"/kbs/{kb}/documents", files=[("files", f) for f in files])


def cited(body: dict) -> set[str]:
    return {c["doc_id"] for c in body["citations"]}


def test_upload_word_and_pdf_ask_each_then_delete(http, tmp_path):
    docx = word_docx(tmp_path / "青禾市产业规划.docx", "青禾市新能源汽车产业规划", [DOCX_FACT, "规划由市发展改革委于2025年3月发布。"])
    pdf = chinese_pdf(tmp_path / "湿地.pdf", "澜沧湖湿地调查报告", [PDF_FACT, "调查于2024年秋季完成，共记录候鸟一百二十多种。"])
    reply = upload(http, "default", (docx.name, docx.read_bytes()), (pdf.name, pdf.read_bytes()))
    assert reply.status_code == 202, reply.text
    body = reply.json()
    added = {d["filename"]: d for d in body["documents"]}
    job = wait(http, body["job"])
    assert job["state"] == "done" and job["stage"] == "ready" and job["total"] >= 2 and job["done"] == job["total"]

    listed = {d["doc_id"]: d for d in http.get("/kbs/default/documents").json()["documents"]}
    word_id, pdf_id = added[docx.name]["doc_id"], added[pdf.name]["doc_id"]
    assert listed[word_id]["title"] == "青禾市新能源汽车产业规划" and listed[pdf_id]["title"] == "澜沧湖湿地调查报告"
    assert listed[word_id]["indexed"] and listed[word_id]["paragraphs"] >= 1 and listed[word_id]["filename"] == docx.name
    assert len(listed) == 7  # the five seed articles and the two uploads

    for question, doc_id, value in (("青禾市2025年新能源汽车产量目标是多少", word_id, "38万辆"),
                                    ("澜沧湖湿地保护区面积有多大", pdf_id, "4260公顷")):
        answer = http.post("/ask", json={"question": question}).json()
        top = answer["citations"][0]
        assert top["doc_id"] == doc_id and value in top["text"][slice(*top["highlight"])], answer
    article = http.get(f"/articles/{pdf_id}", params={"p": 1})
    assert article.status_code == 200 and "澜沧湖" in article.text

    again = upload(http, "default", (docx.name, docx.read_bytes()))  # the same content is one document
    assert again.status_code == 202 and again.json()["job"] is None and again.json()["documents"][0]["duplicate"]

    gone = http.delete(f"/kbs/default/documents/{word_id}")
    assert gone.status_code == 202 and wait(http, gone.json()["job"])["state"] == "done"
    after = http.post("/ask", json={"question": "青禾市2025年新能源汽车产量目标是多少"}).json()
    assert word_id not in cited(after) and "38万辆" not in (after["answer"] or "")
    assert word_id not in {d["doc_id"] for d in http.get("/kbs/default/documents").json()["documents"]}


def test_a_second_base_answers_only_from_its_own_files(http, tmp_path):
    made = http.post("/kbs", json={"name": "政策文件", "title": "政策文件库", "examples": ["澜沧湖湿地保护区面积有多大"]})
    assert made.status_code == 201, made.text
    assert http.post("/kbs", json={"name": "政策文件"}).status_code == 409
    assert http.get("/", params={"kb": "政策文件"}).text.count("这个知识库还没有文档") == 1
    empty = http.post("/ask", json={"question": "澜沧湖湿地保护区面积有多大", "kb": "政策文件"})
    assert empty.status_code == 409 and "no documents" in empty.json()["message"]

    pdf = chinese_pdf(tmp_path / "policy.pdf", "澜沧湖湿地保护条例", [PDF_FACT])
    reply = upload(http, "政策文件", (pdf.name, pdf.read_bytes()))
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    own = http.post("/ask", json={"question": "澜沧湖湿地保护区面积有多大", "kb": "政策文件"}).json()
    assert cited(own) == {reply.json()["documents"][0]["doc_id"]}
    seed = http.post("/ask", json={"question": "鹿泉区2024年电子信息产业目标是多少", "kb": "政策文件"}).json()
    assert not any(doc.startswith("20") for doc in cited(seed))  # no seed article in this base
    default = http.post("/ask", json={"question": "鹿泉区2024年电子信息产业目标是多少"}).json()
    assert "1100亿元" in default["value"]
    names = [kb["name"] for kb in http.get("/kbs").json()["knowledge_bases"]]
    assert names == ["default", "政策文件"]
    assert [m["id"] for m in http.get("/v1/models").json()["data"]] == names
    page = http.get("/", params={"kb": "政策文件"}).text
    assert "政策文件库" in page and "澜沧湖湿地保护区面积有多大" in page and "鹿泉区" not in page


def _file(name: str, content: bytes):
    return (name, content)


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header says it is ``width`` × ``height`` (its pixel data is empty)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    size = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", size) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


BAD_UPLOADS = [
    ("empty.txt", b"", 400, "empty"),
    ("random.pdf", os.urandom(2048), 400, "not a PDF"),
    ("program.pdf", b"\x7fELF\x02\x01\x01" + os.urandom(2048), 400, "not a PDF"),
    ("notzip.docx", "只是一段文字".encode(), 400, "not a zip"),
    ("../../etc/passwd.txt", "正文".encode(), 400, "path"),
    ("/etc/hosts.txt", "正文".encode(), 400, "path"),
    ("长" * 300 + ".txt", "正文".encode(), 400, "longer than"),
    ("tool.exe", b"MZ" + os.urandom(100), 415, "unsupported file type"),
    ("binary.txt", b"\x00\x01\x02\xff\xfe" * 50, 400, "not"),
    ("huge.png", _png_header(100_000, 100_000), 400, "limit of 50 megapixels (RAG_IMAGE_MAX_MEGAPIXELS)"),
    ("cut.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(500), 400, "no %%EOF end marker"),
]


@pytest.mark.parametrize("name, content, status, words", BAD_UPLOADS, ids=[b[0][:20] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_by_name_and_nothing_is_added(http, name, content, status, words):
    before = http.get("/kbs/default/documents").json()["documents"]
    reply = upload(http, "default", (name, content))
    assert reply.status_code == status, reply.text
    message = reply.json()["message"]
    assert words in message and "Traceback" not in message
    assert name[:20].lstrip("./") in message or name.startswith("长"), message  # the file is named
    assert http.get("/kbs/default/documents").json()["documents"] == before
    assert http.get("/health").status_code == 200


def test_bad_files_made_by_tools(http, tmp_path):
    """Read by the index job, not the upload request: the job fails naming the file, which is removed."""
    locked, bomb = tmp_path / "locked.pdf", tmp_path / "bomb.docx"
    encrypted_pdf(locked)
    zip_bomb(bomb)
    before = http.get("/kbs/default/documents").json()["documents"]
    for path, words in ((locked, "password"), (bomb, "unpack")):
        reply = upload(http, "default", (path.name, path.read_bytes()))
        assert reply.status_code == 202, reply.text
        job = wait(http, reply.json()["job"])
        assert job["state"] == "failed" and words in job["error"] and path.name in job["error"], job
        assert job["refused"] and "Traceback" not in job["error"]
    assert http.get("/kbs/default/documents").json()["documents"] == before
    good = ("fine.txt", "一段正常的文字，说明这个文件本身没有问题。".encode())
    mixed = upload(http, "default", good, ("random.pdf", os.urandom(1024)))  # one bad file: none is added
    assert mixed.status_code == 400 and "random.pdf" in mixed.json()["message"]
    assert "fine" not in str(http.get("/kbs/default/documents").json())


def test_a_nul_in_a_file_name_is_refused(http, library):
    # httpx would percent-encode it, so the multipart body is written by hand, as a hostile client would.
    body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\x00b.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\n\xe6\xad\xa3\xe6\x96\x87\r\n--b--\r\n")
    reply = http.post("/kbs/default/documents", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert reply.status_code == 400 and "NUL" in reply.json()["message"], reply.text


def test_limits_and_unknowns(http):
    big = http.post("/kbs/default/documents", files=[("files", ("big.txt", b"a" * (3 * 1024 * 1024)))])
    assert big.status_code == 413 and "2 MB" in big.json()["message"]
    assert http.post("/kbs/default/documents", data={"x": "1"}).status_code == 400
    assert http.delete("/kbs/default/documents/uploads/0000000000000000").status_code == 404
    assert http.post("/kbs/没有这个库/documents", files=[("files", ("a.txt", "正文".encode()))]).status_code == 404
    for name in ("../x", "a/b", "..", "has space", "x" * 41, ""):
        assert http.post("/kbs", json={"name": name}).status_code in (400, 422), name
    assert http.get("/jobs/nope").status_code == 404


def test_html_scripts_are_text_never_code(http):
    page = "<html><head><title>脚本测试</title></head><body><p onclick=\"alert(1)\">白鹭洲公园有三座桥。</p>" \
           "<script>alert('x')</script><img src=x onerror=alert(2)></body></html>"
    reply = upload(http, "default", ("page.html", page.encode()))
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    doc_id = reply.json()["documents"][0]["doc_id"]
    article = http.get(f"/articles/{doc_id}").text
    assert "白鹭洲公园有三座桥" in article and "onclick" not in article and "onerror" not in article
    assert "alert(" not in article


def test_kill_9_during_a_job_keeps_the_old_version_serving_and_the_job_runs_again(tmp_path, index_dir):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from rag.serving import free_port, wait_until_healthy

    shutil.copytree(CORPUS, tmp_path / "corpus")
    shutil.copytree(index_dir, tmp_path / "index")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_KB_DIR": str(tmp_path / "kbs"), "RAG_THREADS": "1"}
    command = [str(Path(sys.executable).with_name("rag")), "serve", "--port", str(port)]

    def start() -> subprocess.Popen:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_until_healthy(url, 180):
            return server
        server.kill()
        raise AssertionError("the server did not start")

    server = start()
    try:
        before = httpx.get(f"{url}/health").json()["index_version"]
        long_text = "\n\n".join(f"第{i}条记录：编号{i * 7919}的仓库位于第{i % 50}号街区，存放物资{i * 13}箱，负责人编号{i * 31}。"
                                for i in range(600))
        reply = httpx.post(f"{url}/kbs/default/documents", files=[("files", ("records.txt", long_text.encode()))], timeout=60)
        job = reply.json()["job"]
        deadline = time.time() + 180
        while httpx.get(f"{url}/jobs/{job['id']}").json()["done"] == 0:  # mid-embedding
            assert time.time() < deadline, "the job never started embedding"
            time.sleep(0.2)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        assert not list((tmp_path / "index").glob("v-*/.building*"))
        server = start()
        assert httpx.get(f"{url}/health").json()["index_version"] == before  # the interrupted build never switched
        answer = httpx.post(f"{url}/ask", json={"question": "鹿泉区2024年电子信息产业目标是多少"}, timeout=60).json()
        assert "1100亿元" in answer["value"]
        while (after := httpx.get(f"{url}/jobs/{job['id']}").json())["state"] not in ("done", "failed"):
            assert time.time() < deadline + 300, after  # queued again at the start: the upload is not left unindexed
            time.sleep(0.5)
        assert after["state"] == "done" and after["attempts"] == 2, after
        listed = httpx.get(f"{url}/kbs/default/documents").json()["documents"]
        assert [d["indexed"] for d in listed if d["filename"] == "records.txt"] == [True]
    finally:
        server.kill()
        server.wait(timeout=30)


def test_title_and_date_can_be_edited_after_upload(http):
    reply = upload(http, "default", ("备忘.txt", "东篱镇2023年茶叶产量为1200吨。".encode()))
    doc_id = reply.json()["documents"][0]["doc_id"]
    assert wait(http, reply.json()["job"])["state"] == "done"
    edit = http.patch(f"/kbs/default/documents/{doc_id}", json={"title": "东篱镇茶叶统计", "date": "2024-01-15"})
    assert edit.status_code == 202 and wait(http, edit.json()["job"])["state"] == "done"
    row = next(d for d in http.get("/kbs/default/documents").json()["documents"] if d["doc_id"] == doc_id)
    assert (row["title"], row["date"], row["filename"]) == ("东篱镇茶叶统计", "2024-01-15", "备忘.txt")
    top = http.post("/ask", json={"question": "东篱镇2023年茶叶产量是多少"}).json()["citations"][0]
    assert (top["doc_id"], top["title"], top["date"]) == (doc_id, "东篱镇茶叶统计", "2024-01-15")
    assert http.patch(f"/kbs/default/documents/{doc_id}", json={"date": "昨天"}).status_code == 422


def test_a_corpus_without_page_settings_gets_neutral_text(tmp_path):
    from rag.kb import PAGE_DEFAULTS, KnowledgeBase

    page = KnowledgeBase("mine", tmp_path / "corpus", tmp_path / "index").page()
    assert page == PAGE_DEFAULTS and page["title"] == "文档问答" and page["examples"] == []


def test_write_endpoints_need_the_api_key(settings, engine):
    from rag.serving import LiveServer
    from web.app import create_app

    with LiveServer(create_app(settings.model_copy(update={"api_key": "k"}), engine)) as live:
        for method, path in (("POST", "/kbs"), ("POST", "/kbs/default/documents"), ("PATCH", "/kbs/default"),
                             ("DELETE", "/kbs/default/documents/x"), ("PATCH", "/kbs/default/documents/x")):
            assert httpx.request(method, live.url + path, json={}).status_code == 401, (method, path)
        assert httpx.get(live.url + "/kbs").status_code == 200
        for path in ("/kbs/default/documents", "/jobs/x", "/articles/2021-12_sjz-daily_economic-work-conference"):
            assert httpx.get(live.url + path).status_code == 401, path  # reading documents needs the key too
        headers = {"X-API-Key": "k"}
        assert httpx.get(live.url + "/kbs/default/documents", headers=headers).status_code == 200
        article = httpx.get(live.url + "/articles/2021-12_sjz-daily_economic-work-conference", headers=headers)
        assert article.status_code == 200 and "全市经济工作会议" in article.text
        asks = httpx.get(live.url + "/articles/2021-12_sjz-daily_economic-work-conference")
        assert "API" in asks.text and "key.js" in asks.text and "全市经济工作会议" not in asks.text  # the page asks for it
        for public in ("/health", "/static/app.css", "/"):
            assert httpx.get(live.url + public).status_code == 200, public


def test_undated_text_files_are_dated_by_their_dateline_and_their_conflict_is_reported(http):
    """Plain .txt uploads with no date in their name or front matter: the dateline at their top dates
    them, so two notices that state one target differently are reported as a conflict, newest first."""
    assert http.post("/kbs", json={"name": "通知"}).status_code == 201
    notices = [("notice-a.txt", "青禾市新能源汽车推广通知\n2023年4月1日\n\n青禾市新能源汽车产量目标为30万辆，重点面向公交和出租车领域。\n"),
               ("notice-b.txt", "青禾市新能源汽车推广通知（修订）\n发布时间：2024-04-01\n\n青禾市新能源汽车产量目标为38万辆，重点面向公交和出租车领域。\n")]
    reply = upload(http, "通知", *[(name, text.encode()) for name, text in notices])
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    body = http.post("/ask", json={"question": "青禾市新能源汽车产量目标是多少", "kb": "通知"}).json()
    assert body["status"] == "conflict", body["answer"]
    assert [(c["value"], c["date"]) for c in body["conflict"]] == [("38万辆", "2024-04-01"), ("30万辆", "2023-04-01")]
    # Titled by their first line, not their file names.
    assert [c["title"] for c in body["conflict"]] == ["青禾市新能源汽车推广通知（修订）", "青禾市新能源汽车推广通知"]


def test_a_head_named_in_an_uploaded_document_answers_who_the_head_is(http):
    """Own documents: 馆长李慧敏 answers who the 馆长 is, and the upload is titled by its first line."""
    assert http.post("/kbs", json={"name": "科技馆"}).status_code == 201
    text = ("青禾市第一座科技馆正式开馆\n2024年9月15日\n\n青禾市科技馆于9月15日正式对公众开放，总投资约6.5亿元，"
            "设计方案出自建筑师周文涛之手。\n\n科技馆馆长李慧敏表示，科技馆今后每年将举办不少于100场科普活动。\n")
    reply = upload(http, "科技馆", ("news.txt", text.encode()))
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    asked = http.post("/ask", json={"question": "科技馆馆长是谁", "kb": "科技馆"}).json()
    assert asked["value"] == "李慧敏" and asked["citations"][0]["title"] == "青禾市第一座科技馆正式开馆"


def test_a_contact_detail_is_answered_only_by_a_span_of_its_form(http):
    """Asked for an e-mail address or a web address that a notice does not give, the product declines
    rather than read the phone number or a place name; the phone number it gives is answered."""
    assert http.post("/kbs", json={"name": "放假通知"}).status_code == 201
    text = ("关于2025年春节放假安排的通知\n发布时间：2025-01-10\n\n现将2025年春节放假安排通知如下：1月28日至2月4日放假调休，"
            "共8天。\n\n放假期间，各部门要妥善安排值班，值班表请于1月20日前报行政部。联系人：王敏，电话：0571-88765432。\n")
    reply = upload(http, "放假通知", ("notice.txt", text.encode()))
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    ask = lambda question: http.post("/ask", json={"question": question, "kb": "放假通知"}).json()  # noqa: E731
    phone = ask("值班联系人电话是多少？")
    assert phone["value"] == "0571-88765432" and "电话：0571-88765432" in phone["answer"]
    for question in ("春节值班的联系邮箱是什么？", "放假通知的网址是什么？"):
        assert ask(question)["status"] == "not_found", question


def test_figures_of_different_years_are_no_conflict(http):
    """Two annual reports: each year's figure answers for its year, and two years' head counts are a
    series, not one fact stated differently; a ；-joined clause is of its sentence's year."""
    assert http.post("/kbs", json={"name": "年报"}).status_code == 201
    reports = [("2024-03_annual-2023.md", "---\ntitle: 青禾科技2023年年度报告摘要\n---\n2023年，公司实现营业收入18.6亿元，同比增长12.4%；"
                "净利润2.1亿元，同比增长8.7%。\n\n截至2023年底，公司员工总数为2350人，其中研发人员980人。\n"),
               ("2023-03_annual-2022.md", "---\ntitle: 青禾科技2022年年度报告摘要\n---\n2022年，公司实现营业收入16.5亿元，同比增长9.1%；"
                "净利润1.9亿元。\n\n截至2022年底，公司员工总数为2100人，其中研发人员850人。\n")]
    reply = upload(http, "年报", *[(name, text.encode()) for name, text in reports])
    assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
    ask = lambda question: http.post("/ask", json={"question": question, "kb": "年报"}).json()  # noqa: E731
    profit = ask("青禾科技2023年净利润是多少？")
    assert profit["status"] == "answered" and profit["value"].startswith("2.1亿元"), profit["answer"]
    staff = ask("青禾科技有多少研发人员？")
    assert staff["status"] == "answered" and staff["value"] in ("980人", "850人"), staff["answer"]
