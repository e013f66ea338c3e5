"""The HTTP API and pages through a real server: the /ask contract, health, docs, bad input, the API key.

The answers, health and article pages are checked on both stores (FAISS, Milvus Lite): the API must
not show which one serves."""

from __future__ import annotations

import http.client
import json
import re
from datetime import datetime

import httpx
import pytest

from tests.conftest import LiveServer

SEED = "鹿泉区2024年电子信息产业目标是多少"
LUQUAN = "2024-09_sjz-daily_plenum-11-7-reactions"
CITATION_TYPES = {
    "rank": int, "doc_id": str, "title": str, "date": str, "source": str, "paragraph": int, "text": str,
    "score": float, "heading": str, "kind": str, "found_by": list,
}


@pytest.fixture(params=["faiss", "milvus"])
def served(request):
    """(client, engine) of a server over each store."""
    server, engine = ("server", "engine") if request.param == "faiss" else ("milvus_server", "milvus_engine")
    live, engine = request.getfixturevalue(server), request.getfixturevalue(engine)
    with httpx.Client(base_url=live.url, timeout=30) as http:
        yield http, engine


def ask(client: httpx.Client, question: str, **extra) -> dict:
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_ask_contract_on_the_seed_question(served):
    client, _ = served
    body = ask(client, SEED)
    assert body["question"] == SEED
    assert body["status"] in {"answered", "conflict"}
    assert isinstance(body["answer"], str) and body["answer"]
    assert isinstance(body["value"], str) and "1100亿元" in body["value"]
    assert isinstance(body["took_ms"], float) and body["took_ms"] > 0
    assert isinstance(body["confidence"], float)
    assert body["rewritten"] is None
    assert isinstance(body["conflict"], list)
    for item in body["conflict"]:
        assert set(item) == {"value", "date", "doc_id", "title", "paragraph"}
    citations = body["citations"]
    assert [c["rank"] for c in citations] == list(range(1, len(citations) + 1))
    assert 1 <= len(citations) <= 5
    for c in citations:
        for name, kind in CITATION_TYPES.items():
            assert isinstance(c[name], kind), (name, c[name])
        assert c["title"] and c["date"] and c["paragraph"] >= 1
        assert c["kind"] in {"body", "caption", "byline"}
        assert set(c["found_by"]) <= {"dense", "bm25"}
        if c["highlight"] is not None:
            start, end = c["highlight"]
            assert 0 <= start < end <= len(c["text"])
    marked = {c["text"][c["highlight"][0]:c["highlight"][1]] for c in citations if c["highlight"]}
    assert body["value"] in marked  # the exact span is what a citation highlights
    newest = [c for c in citations if "1100亿元" in c["text"] and c["date"] == "2024-09-02"]
    older = [c for c in citations if "1000亿元" in c["text"] and c["date"] == "2023-12-22"]
    assert newest and older, [(c["date"], c["text"][:40]) for c in citations]


def test_ask_conflict_lists_values_newest_first(served):
    client, _ = served
    body = ask(client, SEED)
    assert body["status"] == "conflict"
    values = [(item["value"], item["date"]) for item in body["conflict"]]
    assert values[0] == ("1100亿元", "2024-09-02") and ("1000亿元", "2023-12-22") in values
    assert [d for _, d in values] == sorted((d for _, d in values), reverse=True)


def test_ask_not_found_has_no_answer_and_no_highlight(served):
    client, _ = served
    body = ask(client, "石家庄2030年GDP目标是多少")
    assert body["status"] == "not_found"
    assert body["answer"] is None and body["value"] is None and body["conflict"] == []
    assert all(c["highlight"] is None for c in body["citations"])


def test_ask_follow_up_uses_history(served):
    client, _ = served
    first = "2023年新一代电子信息产业营业收入是多少"
    body = ask(client, "那生物医药呢？", history=[{"question": first, "answer": ask(client, first)["answer"]}])
    assert body["rewritten"] and "生物医药" in body["rewritten"]
    assert "1078.6亿元" in body["answer"]  # the reader gives the 分别 sentence's list; its passage holds the figure


def test_top_k_sets_how_many_passages_are_cited(served):
    client, _ = served
    assert len(ask(client, "小学生免费公交专线征求意见的传真号码是多少", top_k=1)["citations"]) == 1
    assert len(ask(client, SEED, top_k=8)["citations"]) == 8


def test_every_conflicting_value_has_its_citation(served):
    client, _ = served
    """The page links each conflicting value to its passage, even when top_k is smaller than the conflict."""
    body = ask(client, SEED, top_k=1)
    cited = {(c["doc_id"], c["paragraph"]) for c in body["citations"]}
    assert body["conflict"] and all((v["doc_id"], v["paragraph"]) in cited for v in body["conflict"])


def test_health(served):
    client, engine = served
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["documents"] == len(engine.index.documents) == 5
    assert body["chunks"] == len(engine.index.chunks) > 100
    assert body["model"] and body["index_version"] == engine.index.version
    assert datetime.fromisoformat(body["built_at"]).tzinfo is not None


def test_docs_and_openapi(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/ask", "/health", "/admin/reload"} <= set(schema["paths"])
    ask_fields = schema["components"]["schemas"]["AskResponse"]["properties"]
    assert {"answer", "status", "value", "conflict", "citations", "rewritten", "took_ms"} <= set(ask_fields)


def test_pages_send_security_headers_and_no_inline_code(client):
    for path in ("/", f"/articles/{LUQUAN}?p=20"):
        response = client.get(path)
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text), "inline script"
        assert not re.search(r"\sstyle=", response.text), "inline style attribute"
        assert "<style" not in response.text
    for asset in ("/static/chat.js", "/static/article.js", "/static/app.css"):
        assert client.get(asset).status_code == 200


def test_article_page_marks_the_cited_paragraph_and_span(served):
    client, engine = served
    chunk = next(c for c in engine.index.chunks if c.doc_id == LUQUAN and "突破1100亿元" in c.text)
    start = chunk.text.index("突破1100亿元")
    response = client.get(f"/articles/{LUQUAN}", params={"p": chunk.paragraph, "hl": f"{start}-{start + 8}"})
    assert response.status_code == 200
    page = response.text
    assert engine.index.documents[LUQUAN]["title"] in page and "2024-09-02" in page
    paragraphs = [c for c in engine.index.chunks if c.doc_id == LUQUAN]
    assert page.count('class="para') == len(paragraphs)
    assert re.findall(r'id="p-(\d+)"', page) == [str(c.paragraph) for c in paragraphs]
    cited = re.search(rf'<section id="p-{chunk.paragraph}" class="([^"]*)"', page)
    assert "cited" in cited.group(1)
    assert page.count("<mark>") == 1 and "<mark>突破1100亿元</mark>" in page
    assert client.get(f"/articles/{LUQUAN}").status_code == 200  # no paragraph asked for: plain article


# Bad input: each its own case; every answer is a 4xx with a readable message, never a 500.
LONG = "鹿" * 100_000
BAD_ASK = {
    "empty": ({"json": {"question": ""}}, 422, "question"),
    "whitespace": ({"json": {"question": " \n\t\u3000 "}}, 422, "question"),
    "100k characters": ({"json": {"question": LONG}}, 422, "longer than"),
    "invalid JSON": ({"content": '{"question": ', "headers": {"content-type": "application/json"}}, 422, "JSON"),
    "question number": ({"json": {"question": 5}}, 422, "question"),
    "question list": ({"json": {"question": ["鹿泉"]}}, 422, "question"),
    "question null": ({"json": {"question": None}}, 422, "question"),
    "question missing": ({"json": {"top_k": 3}}, 422, "question"),
    "top_k string": ({"json": {"question": SEED, "top_k": "5"}}, 422, "top_k"),
    "top_k float": ({"json": {"question": SEED, "top_k": 5.5}}, 422, "top_k"),
    "top_k bool": ({"json": {"question": SEED, "top_k": True}}, 422, "top_k"),
    "top_k 0": ({"json": {"question": SEED, "top_k": 0}}, 422, "top_k"),
    "top_k -1": ({"json": {"question": SEED, "top_k": -1}}, 422, "top_k"),
    "top_k 10**6": ({"json": {"question": SEED, "top_k": 10**6}}, 422, "top_k"),
    "history string": ({"json": {"question": SEED, "history": "上一个问题"}}, 422, "history"),
    "history of numbers": ({"json": {"question": SEED, "history": [1, 2]}}, 422, "history"),
    "history turn without question": ({"json": {"question": SEED, "history": [{"answer": "x"}]}}, 422, "history"),
    "history object": ({"json": {"question": SEED, "history": {"question": "x"}}}, 422, "history"),
    "history too long": ({"json": {"question": SEED, "history": [{"question": "x"}] * 51}}, 422, "history"),
    "invalid UTF-8": ({"content": b'{"question": "\xff\xfe\xfd"}', "headers": {"content-type": "application/json"}}, 400, "UTF-8"),
    "lone surrogate": ({"content": '{"question": "\\ud800"}', "headers": {"content-type": "application/json"}}, 422, "question"),
    "missing body": ({"headers": {"content-type": "application/json"}}, 422, "body"),
    "text/plain body": ({"content": json.dumps({"question": SEED}), "headers": {"content-type": "text/plain"}}, 422, "JSON object"),
    "form body": ({"data": {"question": SEED}}, 422, "JSON object"),
    "JSON array": ({"json": [SEED]}, 422, "JSON object"),
}


@pytest.mark.parametrize("case", BAD_ASK, ids=list(BAD_ASK))
def test_bad_ask_input_is_a_readable_4xx(client, case):
    request, status, words = BAD_ASK[case]
    response = client.post("/ask", **request)
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["message"], str) and words in body["message"]
    assert len(response.content) < 5000  # a huge input is not echoed back


def test_wrong_method_is_a_readable_4xx(client):
    response = client.get("/ask")
    assert response.status_code == 405 and response.json()["message"]


BAD_ARTICLE = {
    "unknown doc id": ("/articles/no-such-article", 404),
    "encoded traversal": ("/articles/..%2F..%2Fetc%2Fpasswd", 404),
    "encoded dots": ("/articles/%2e%2e/%2e%2e/etc/passwd", 404),
    "absolute path": ("/articles/%2Fetc%2Fpasswd", 404),
    "nul byte": ("/articles/a%00b", 404),
    "markup in id": ("/articles/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    "empty id": ("/articles/", 404),
    "p not a number": (f"/articles/{LUQUAN}?p=abc", 422),
    "p zero": (f"/articles/{LUQUAN}?p=0", 422),
    "p negative": (f"/articles/{LUQUAN}?p=-1", 422),
    "p float": (f"/articles/{LUQUAN}?p=1.5", 422),
    "p full-width digit": (f"/articles/{LUQUAN}?p=%EF%BC%91", 422),
    "p past the end": (f"/articles/{LUQUAN}?p=9999", 404),
    "p huge": (f"/articles/{LUQUAN}?p=99999999999999999999999", 404),
    "hl malformed": (f"/articles/{LUQUAN}?p=1&hl=abc", 422),
    "hl reversed": (f"/articles/{LUQUAN}?p=1&hl=9-3", 422),
    "hl past the paragraph": (f"/articles/{LUQUAN}?p=1&hl=0-99999", 422),
    "hl without p": (f"/articles/{LUQUAN}?hl=0-3", 422),
}


@pytest.mark.parametrize("case", BAD_ARTICLE, ids=list(BAD_ARTICLE))
def test_bad_article_request_is_a_message_page(client, case):
    path, status = BAD_ARTICLE[case]
    response = client.get(path)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    message = re.search(r'<p class="message">(.+?)</p>', response.text)
    assert message and len(message.group(1)) > 5
    assert "root:" not in response.text and "<script>alert" not in response.text


def test_literal_dot_dot_path_never_reaches_the_filesystem(server):
    """httpx would normalise ``..`` away, so send the raw request line."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/articles/../../etc/passwd")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 404
    assert "root:" not in body and "没有这篇文章" in body


def test_server_still_healthy_after_bad_input(client):
    assert client.get("/health").json()["status"] == "ok"
    assert ask(client, SEED)["citations"]


@pytest.fixture(scope="module")
def keyed_server(settings, engine):
    from web.app import create_app

    with LiveServer(create_app(settings.model_copy(update={"api_key": "k"}), engine)) as live:
        yield live


def test_api_key_guards_the_api_only(keyed_server):
    with httpx.Client(base_url=keyed_server.url, timeout=30) as http_client:
        refused = http_client.post("/ask", json={"question": SEED})
        assert refused.status_code == 401 and "API key" in refused.json()["message"]
        assert http_client.post("/ask", json={"question": SEED}, headers={"X-API-Key": "wrong"}).status_code == 401
        assert http_client.post("/admin/reload").status_code == 401
        assert http_client.post("/ask", json={"question": SEED}, headers={"X-API-Key": "k"}).status_code == 200
        assert http_client.post("/ask", json={"question": SEED}, headers={"Authorization": "Bearer k"}).status_code == 200
        assert http_client.get("/health").status_code == 200
        assert http_client.get("/").status_code == 200
