"""Issue #29: nothing lost, nothing leaked, no upload can sink the server.

Chunking limits on made-up text; the rest on a real server on loopback with real files made here.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from rag.chunking import MAX_CHARS, Chunker
from rag.documents import Document
from rag.serving import LiveServer, free_port, wait_until_healthy
from tests.test_kbs import upload, wait


def test_sixteen_thousand_short_paragraphs_chunk_in_linear_time():
    text = "\n\n".join(f"第{i}号仓库存放物资{i * 13}箱，负责人编号{i * 31}。" for i in range(16000))
    started = time.perf_counter()
    chunks = Chunker()(Document(doc_id="many", title="仓库", text=text))
    assert len(chunks) == 16000
    assert time.perf_counter() - started < 10  # comparing every pair took 21-78 s here


def test_a_paragraph_printed_twice_is_still_kept_once():
    full = "鹿泉区新一代电子信息产业营业收入达到766.02亿元，同比增长35.47%。"
    text = f"标题\n\n{full}\n\n另一段完全不同的文字，讲的是别的事情。\n\n{full[:20]}\n"
    chunks = Chunker()(Document(doc_id="twice", title="标题", text=text))
    assert sum(full[:20] in c.text for c in chunks) == 1


def test_a_line_with_no_sentence_end_is_split_by_length():
    for unit in ("鹿泉区电子信息产业", "鹿泉区电子信息，产业"):
        text = unit * 100_000  # one line of about a million characters and no full stop
        chunks = Chunker()(Document(doc_id="line", title="长行", text=text))
        assert len(chunks) > 1000 and max(len(c.text) for c in chunks) <= MAX_CHARS
        assert "".join(c.text for c in chunks) == text  # nothing lost at the cuts
    clauses = Chunker()(Document(doc_id="c", title="t", text="鹿泉区电子信息，产业" * 1000))
    assert all(c.text.endswith("，") for c in clauses[:-1])  # cut after a clause where there is one


# --- on a real server -------------------------------------------------------------------------


FACT = "东篱镇2023年茶叶产量为1200吨，比上年增长一成。"
HEADING_ONLY = "鹿泉区电子信息产业发展规划\n"
QUESTION = "东篱镇2023年茶叶产量是多少"


def records(n: int) -> bytes:
    """A file whose job takes a while to embed (n paragraphs), to act on while it runs."""
    return "\n\n".join(f"第{i}条记录：编号{i * 7919}的仓库位于第{i % 50}号街区，存放物资{i * 13}箱，负责人编号{i * 31}。"
                       for i in range(n)).encode()


@contextmanager
def serving(tmp_path: Path, settings, embedder, reader, **overrides):
    """A real server on loopback whose default base starts empty (its own corpus, index and bases)."""
    from rag.engine import Engine
    from web.app import create_app

    (tmp_path / "corpus").mkdir(exist_ok=True)
    own = settings.model_copy(update={"corpus_dir": tmp_path / "corpus", "index_dir": tmp_path / "index",
                                      "kb_dir": tmp_path / "kbs", **overrides})
    with LiveServer(create_app(own, Engine(own, embedder, reader, allow_empty=True))) as live:
        with httpx.Client(base_url=live.url, timeout=120) as http:
            yield http


def test_deleting_the_last_document_empties_the_base(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        assert http.get("/health").json()["documents"] == 0  # an empty default base serves
        first = http.post("/ask", json={"question": QUESTION})
        assert first.status_code == 409 and "no documents" in first.json()["message"]
        reply = upload(http, "default", ("tea.txt", FACT.encode()))
        assert reply.status_code == 202 and wait(http, reply.json()["job"])["state"] == "done"
        doc_id = reply.json()["documents"][0]["doc_id"]
        assert "1200吨" in http.post("/ask", json={"question": QUESTION}).json()["value"]
        assert http.get(f"/articles/{doc_id}").status_code == 200

        gone = http.delete(f"/kbs/default/documents/{doc_id}")
        assert gone.status_code == 202
        assert http.get(f"/articles/{doc_id}").status_code == 404  # at once, before the job is done
        assert wait(http, gone.json()["job"])["state"] == "done"
        after = http.post("/ask", json={"question": QUESTION})
        assert after.status_code == 409 and "no documents" in after.json()["message"], after.text  # not the old index
        assert http.get(f"/articles/{doc_id}").status_code == 404
        assert http.get("/kbs/default/documents").json()["documents"] == []
        assert http.get("/health").json()["documents"] == 0


def test_a_base_of_headings_only_fails_its_job_by_name_and_deletes_still_work(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        assert http.post("/kbs", json={"name": "规划"}).status_code == 201
        heading = upload(http, "规划", ("规划标题.txt", HEADING_ONLY.encode()))
        assert heading.status_code == 202
        failed = wait(http, heading.json()["job"])
        assert failed["state"] == "failed" and "规划标题.txt" in failed["error"] and "no paragraph" in failed["error"], failed
        assert "max()" not in failed["error"] and http.get("/kbs/规划/documents").json()["documents"] == []

        good = upload(http, "规划", ("tea.txt", FACT.encode()))
        assert wait(http, good.json()["job"])["state"] == "done"
        doc_id = good.json()["documents"][0]["doc_id"]
        # A heading-only file put in the corpus by hand (as `rag index` users do) is left out, named:
        (tmp_path / "kbs" / "规划" / "corpus" / "heading.txt").write_text(HEADING_ONLY, encoding="utf-8")
        gone = http.delete(f"/kbs/规划/documents/{doc_id}")
        job = wait(http, gone.json()["job"])
        assert job["state"] == "done", job  # was: ValueError: max() arg is an empty sequence
        assert http.post("/ask", json={"question": QUESTION, "kb": "规划"}).status_code == 409
        assert http.get(f"/articles/{doc_id}", params={"kb": "规划"}).status_code == 404
        assert [d["doc_id"] for d in http.get("/kbs/规划/documents").json()["documents"]] == ["heading"]


def test_a_slow_base_does_not_hold_up_another_and_a_running_job_can_be_cancelled(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        for name in ("慢", "快"):
            assert http.post("/kbs", json={"name": name}).status_code == 201
        fast_first = upload(http, "快", ("tea.txt", FACT.encode()))
        assert wait(http, fast_first.json()["job"])["state"] == "done"
        slow = upload(http, "慢", ("records.txt", records(1500))).json()["job"]
        queued = upload(http, "慢", ("more.txt", records(30))).json()["job"]  # waits behind the slow one
        fast = upload(http, "快", ("other.txt", "西岭村2022年葡萄产量为300吨。".encode())).json()["job"]
        assert wait(http, fast, 120)["state"] == "done"
        assert http.get(f"/jobs/{slow['id']}").json()["state"] == "running"  # the other base's job ran meanwhile

        cancelled = http.delete(f"/jobs/{queued['id']}")
        assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
        deadline = time.time() + 120
        while http.get(f"/jobs/{slow['id']}").json()["done"] == 0:  # mid-embedding
            assert time.time() < deadline
            time.sleep(0.2)
        assert http.delete(f"/jobs/{slow['id']}").status_code == 202
        stopped = wait(http, slow, 60)
        assert stopped["state"] == "cancelled" and stopped["done"] < stopped["total"], stopped
        assert http.get("/kbs/慢/documents").json()["documents"] == []  # the cancelled uploads are not kept
        assert http.post("/ask", json={"question": QUESTION, "kb": "慢"}).status_code == 409
        assert "1200吨" in http.post("/ask", json={"question": QUESTION, "kb": "快"}).json()["value"]
        assert http.delete(f"/jobs/{slow['id']}").status_code == 409  # finished: nothing to cancel
        assert http.delete("/jobs/nope").status_code == 404


def test_health_answers_at_once_while_questions_and_a_job_fill_the_server(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        assert wait(http, upload(http, "default", ("tea.txt", FACT.encode())).json()["job"])["state"] == "done"
        job = upload(http, "default", ("records.txt", records(800))).json()["job"]
        url = str(http.base_url).rstrip("/")

        def ask(_):
            return httpx.post(f"{url}/ask", json={"question": QUESTION}, timeout=300).status_code

        with ThreadPoolExecutor(80) as pool:
            asked = pool.map(ask, range(80))  # more than the server's 40 worker threads
            time.sleep(1.0)
            latencies = []
            for _ in range(5):
                started = time.perf_counter()
                assert httpx.get(f"{url}/health", timeout=30).status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.2)
            assert set(asked) == {200}
        assert max(latencies) < 1.0, latencies
        http.delete(f"/jobs/{job['id']}")


def test_a_file_read_past_the_time_limit_fails_its_job_naming_file_and_limit(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader, parse_seconds=0.001) as http:
        big = "\n".join(f"第{i}行：这是一段用来拖慢读取的文字。" for i in range(100_000)).encode()
        job = wait(http, upload(http, "default", ("slow.txt", big)).json()["job"])
        assert job["state"] == "failed" and "slow.txt" in job["error"] and "0.001 s" in job["error"], job
        assert http.get("/kbs/default/documents").json()["documents"] == []
        assert http.get("/health").status_code == 200


def test_a_file_of_too_many_paragraphs_is_refused_by_name(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader, max_document_paragraphs=50) as http:
        job = wait(http, upload(http, "default", ("records.txt", records(600))).json()["job"])
        assert job["state"] == "failed" and "records.txt" in job["error"] and "limit of 50" in job["error"], job
        assert job["total"] == 0  # refused before anything was embedded


def test_a_malformed_pdf_fails_its_job_by_name_and_pypdf_is_quiet(tmp_path, settings, embedder, reader):
    broken = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n" * 2000 + b"trailer << /Root 1 0 R >>\n%%EOF"
    with serving(tmp_path, settings, embedder, reader) as http:
        job = wait(http, upload(http, "default", ("broken.pdf", broken)).json()["job"])
        assert job["state"] == "failed" and "broken.pdf" in job["error"], job
    assert logging.getLogger("pypdf").getEffectiveLevel() >= logging.ERROR


def test_cross_site_writes_are_refused_without_a_key(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        host = http.base_url.netloc.decode()
        foreign = {"Origin": "http://evil.example"}
        # A form another site's page posts (the browser sends its Origin):
        form = http.post("/kbs/default/documents", files=[("files", ("x.txt", "正文内容".encode()))], headers=foreign)
        assert form.status_code == 403 and "cross-site" in form.json()["message"]
        assert http.post("/kbs", json={"name": "evil"}, headers=foreign).status_code == 403
        assert http.post("/kbs", json={"name": "evil"}, headers={"Referer": "http://evil.example/page"}).status_code == 403
        assert http.post("/kbs", json={"name": "evil"}, headers={"Origin": "null"}).status_code == 403
        assert http.delete("/jobs/x", headers=foreign).status_code == 403
        assert http.patch("/kbs/default", json={"title": "x"}, headers=foreign).status_code == 403
        assert "evil" not in [kb["name"] for kb in http.get("/kbs").json()["knowledge_bases"]]
        assert http.post("/kbs", json={"name": "mine"}, headers={"Origin": f"http://{host}"}).status_code == 201
        assert http.post("/kbs", json={"name": "curl"}).status_code == 201  # no Origin, no Referer: not a browser
        proxied = {"Origin": "https://qa.example.org", "X-Forwarded-Host": "qa.example.org"}  # behind a reverse proxy
        assert http.post("/kbs", json={"name": "proxied"}, headers=proxied).status_code == 201
        assert http.post("/ask", json={"question": QUESTION}, headers=foreign).status_code == 409  # reads are not writes


def test_a_large_json_body_is_refused_before_parsing_and_before_the_key(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader, max_json_kb=16, api_key="k", max_chat_chars=3000) as http:
        big = {"question": "问" * 10_000}
        refused = http.post("/ask", json=big)  # no key either: the size is checked first
        assert refused.status_code == 413 and "16 KB" in refused.json()["message"], refused.text
        body = json.dumps(big).encode()
        chunked = http.post("/ask", content=iter([body[:2000], body[2000:]]), headers={"Content-Type": "application/json"})
        assert chunked.status_code == 413  # no Content-Length: counted as it comes
        assert http.post("/ask", json={"question": QUESTION}).status_code == 401  # small: on to the key check
        messages = [{"role": "assistant" if i % 2 else "user", "content": "很长的一段历史消息。" * 20} for i in range(16)]
        chat = http.post("/v1/chat/completions", json={"model": "default", "messages": messages}, headers={"X-API-Key": "k"})
        assert chat.status_code == 400 and "in all" in chat.json()["error"]["message"], chat.text
        oai = http.post("/v1/chat/completions", json={"model": "default", "messages": [{"role": "user", "content": "问" * 8000}]})
        assert oai.status_code == 413 and "error" in oai.json()  # in the OpenAI error shape


def test_names_dates_examples_and_base_deletion(tmp_path, settings, embedder, reader):
    with serving(tmp_path, settings, embedder, reader) as http:
        assert http.post("/kbs", json={"name": "abc\n"}).status_code == 400
        assert http.post("/kbs", json={"name": "ok", "examples": ["问" * 201]}).status_code == 422
        assert http.post("/kbs", json={"name": "ok", "examples": ["问" * 200]}).status_code == 201
        reply = upload(http, "ok", ("tea.txt", FACT.encode()))
        doc_id = reply.json()["documents"][0]["doc_id"]
        assert wait(http, reply.json()["job"])["state"] == "done"
        for bad in ("2024-13-45", "0000", "2023-02-29", "2024-01-15\n"):
            edit = http.patch(f"/kbs/ok/documents/{doc_id}", json={"date": bad})
            assert edit.status_code == 422, bad
        edited = http.patch(f"/kbs/ok/documents/{doc_id}", json={"date": "2024-02-29"})
        assert edited.status_code == 202 and wait(http, edited.json()["job"])["state"] == "done"
        for name in ("invoice\u202etxt.exe.txt", "a\u200bb.txt", "c\u0085d.txt", "e\u2066f.txt"):
            refused = upload(http, "ok", (name, "正文内容".encode()))
            message = refused.json()["message"]
            assert refused.status_code == 400 and "bidi" in message, name
            assert not any(ch in message for ch in "\u202e\u200b\u0085\u2066")  # named, escaped
        default = http.delete("/kbs/default")
        assert default.status_code == 400 and "cannot be deleted" in default.json()["message"]
        assert http.delete("/kbs/nope").status_code == 404
        assert http.delete("/kbs/ok").status_code == 200
        assert [kb["name"] for kb in http.get("/kbs").json()["knowledge_bases"]] == ["default"]
        assert http.post("/ask", json={"question": QUESTION, "kb": "ok"}).status_code == 404
        page = http.get("/documents", params={"kb": "default"}).text
        assert 'id="delete-kb"' not in page


def test_rag_serve_starts_on_an_empty_corpus_and_rag_ask_says_it_is_empty(tmp_path):
    (tmp_path / "corpus").mkdir()
    env = {**os.environ, "RAG_CORPUS_DIR": str(tmp_path / "corpus"), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_KB_DIR": str(tmp_path / "kbs"), "RAG_THREADS": "1"}
    asked = subprocess.run([sys.executable, "-m", "rag.cli", "ask", QUESTION], env=env, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 1 and "empty" in asked.stderr and "rag add" in asked.stderr, asked.stderr
    assert "Traceback" not in asked.stderr and len(asked.stderr.strip().splitlines()) == 1
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("rag")), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        assert wait_until_healthy(url, 180), "rag serve did not start on an empty corpus"
        assert httpx.get(f"{url}/health").json()["documents"] == 0
        assert httpx.post(f"{url}/ask", json={"question": QUESTION}).status_code == 409
        assert "这个知识库还没有文档" in httpx.get(url + "/").text
    finally:
        server.kill()
        server.wait(timeout=30)
