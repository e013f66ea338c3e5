"""Reindexing while serving, and what a broken index does to the engine and the CLI.

Each test works on a private copy of the session index (so unchanged paragraphs reuse their
vectors and a rebuild embeds only the new article) and never touches the shared one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from rag.engine import Engine
from rag.index import Index, IndexUnavailable, build_index
from tests.conftest import CORPUS, LiveServer

RAG = Path(sys.executable).parent / "rag"
NEW_DOC = "2025-01_test-daily_zhengding-lantern-festival"
NEW_ARTICLE = """---
title: "正定古城首届灯会闭幕"
source: 测试日报
date: "2025-01-20"
---

正定古城首届灯会闭幕

本报讯 正定古城首届灯会于1月19日闭幕。灯会期间共展出彩灯3721组，吸引游客86万人次。

主办方表示，明年将继续举办灯会，并增加非遗展示内容。
"""
NEW_QUESTION = "正定古城首届灯会共展出了多少组彩灯"


@pytest.fixture()
def private_index(tmp_path, index_dir) -> tuple[Path, Path]:
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    index = shutil.copytree(index_dir, tmp_path / "index")
    return corpus, index


def test_rebuild_while_serving_loses_no_request(private_index, settings, embedder, reader):
    corpus, index = private_index
    private = settings.model_copy(update={"index_dir": index, "corpus_dir": corpus})
    from web.app import create_app

    with LiveServer(create_app(private, Engine(private, embedder, reader))) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        before = http.post("/ask", json={"question": NEW_QUESTION}).json()
        assert "3721" not in (before["value"] or "") and all("3721" not in c["text"] for c in before["citations"])
        old_version = http.get("/health").json()["index_version"]

        served, failures, stop = [], [], threading.Event()

        def keep_asking() -> None:
            with httpx.Client(base_url=live.url, timeout=30) as own:
                while not stop.is_set() and len(served) + len(failures) < 400:
                    try:
                        response = own.post("/ask", json={"question": "石家庄国际生物医药园占地多少亩"})
                        (served if response.status_code == 200 and response.json()["citations"] else failures).append(response.status_code)
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))

        askers = [threading.Thread(target=keep_asking) for _ in range(2)]
        for asker in askers:
            asker.start()
        try:
            (corpus / f"{NEW_DOC}.md").write_text(NEW_ARTICLE, encoding="utf-8")
            built = build_index(corpus, index, embedder, progress=False)
            assert built.manifest["embedded"] < 10  # only the new article's paragraphs
            deadline = time.time() + 15  # the server polls CURRENT every second
            while http.get("/health").json()["index_version"] != built.version and time.time() < deadline:
                time.sleep(0.2)
            assert http.get("/health").json()["index_version"] == built.version != old_version
            switched, deadline = len(served), time.time() + 30  # then requests on the new version, however loaded the machine
            while len(served) < max(3, switched + 1) and not failures and time.time() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            for asker in askers:
                asker.join(timeout=60)

        assert failures == [] and len(served) >= 3, (len(served), failures[:5])  # answers went on during the rebuild
        after = http.post("/ask", json={"question": NEW_QUESTION}).json()
        assert after["status"] == "answered", after
        assert "3721" in after["value"]
        assert after["citations"][0]["doc_id"] == NEW_DOC and after["citations"][0]["date"] == "2025-01-20"
        assert http.get("/health").json()["documents"] == 6
        reload = http.post("/admin/reload")
        assert reload.status_code == 200 and reload.json() == {"reloaded": False, "index_version": built.version}


def test_admin_reload_switches_at_once(private_index, settings, embedder, reader):
    corpus, index = private_index
    private = settings.model_copy(update={"index_dir": index, "corpus_dir": corpus})
    engine = Engine(private, embedder, reader)
    (corpus / f"{NEW_DOC}.md").write_text(NEW_ARTICLE, encoding="utf-8")
    built = build_index(corpus, index, embedder, progress=False)
    assert engine.index.version != built.version
    from web.app import create_app

    with LiveServer(create_app(private, engine)) as live:
        reload = httpx.post(f"{live.url}/admin/reload", timeout=30).json()
        assert reload["index_version"] == built.version  # reloaded now, or by the poller a moment before
        answer = httpx.post(f"{live.url}/ask", json={"question": NEW_QUESTION}, timeout=30).json()
        assert "3721" in answer["value"]


def _break(index: Path, damage: str) -> None:
    version = index / Index.current_version(index)
    if damage == "CURRENT names a missing version":
        (index / "CURRENT").write_text("v-gone\n", encoding="utf-8")
    elif damage == "manifest.json not JSON":
        (version / "manifest.json").write_text("{ not json", encoding="utf-8")
    elif damage == "no bm25 folder":
        shutil.rmtree(version / "bm25")
    else:  # truncate a file to a fraction of its size
        path = version / damage.split()[0]
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


DAMAGE = ["faiss.index truncated", "vectors.npy truncated", "chunks.jsonl truncated",
          "manifest.json not JSON", "CURRENT names a missing version", "no bm25 folder"]


@pytest.mark.parametrize("damage", DAMAGE)
def test_corrupted_index_is_index_unavailable(private_index, settings, embedder, reader, damage):
    _, index = private_index
    _break(index, damage)
    with pytest.raises(IndexUnavailable, match="rag index"):
        Engine(settings.model_copy(update={"index_dir": index}), embedder, reader)


def test_cli_on_a_corrupted_index_says_what_to_run(private_index):
    _, index = private_index
    _break(index, "faiss.index truncated")
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_THREADS": "1"}
    for command in (["ask", "鹿泉区2024年电子信息产业目标是多少"], ["serve", "--port", "1"]):  # serve never binds
        done = subprocess.run([str(RAG), *command], env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode != 0, (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "rag index" in errors[0], done.stderr
