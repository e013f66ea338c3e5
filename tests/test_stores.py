"""What only the Milvus store can get wrong: a Lite file held by another process, an unreachable
server, and a restart (the client closed and the Lite file opened again by a new engine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index, IndexUnavailable, build_index
from rag.stores import StoreUnavailable

from .conftest import CORPUS, milvus_copy, release_lite

pytest.importorskip("pymilvus", reason="the Milvus store needs the milvus extra")

RAG = Path(sys.executable).parent / "rag"
SEED = "鹿泉区2024年电子信息产业目标是多少"


@pytest.fixture()
def lite(tmp_path, index_dir, embedder) -> Path:
    folder = milvus_copy(index_dir, tmp_path / "index", embedder)
    yield folder
    release_lite(folder)


def run_rag(*args: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(RAG), *args], env={**os.environ, "RAG_THREADS": "1", **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def test_a_lite_file_held_by_another_process_is_a_clear_error(lite):
    held = Index.load(lite)  # this process serves it
    try:
        error = run_rag("ask", SEED, RAG_INDEX_DIR=str(lite))
        assert "open in another process" in error and "milvus.db" in error, error
        error = run_rag("index", str(CORPUS), "--index-dir", str(lite), "--quiet", RAG_STORE="milvus")
        assert "open in another process" in error, error
    finally:
        held.close()
    assert Index.current_version(lite) == held.version


def test_an_unreachable_milvus_is_a_clear_error(tmp_path, lite, embedder):
    nowhere = Settings(milvus_uri="http://127.0.0.1:9", threads=1)
    with pytest.raises(StoreUnavailable, match="cannot reach Milvus at http://127.0.0.1:9.*RAG_MILVUS_URI"):
        build_index(CORPUS, tmp_path / "new", embedder, progress=False, store="milvus", settings=nowhere)
    assert not list((tmp_path / "new").glob("v-*"))  # it failed before embedding, and wrote nothing
    with pytest.raises(IndexUnavailable, match="cannot reach Milvus"):
        Index.load(lite, nowhere)
    error = run_rag("index", str(CORPUS), "--index-dir", str(tmp_path / "cli"), "--quiet",
                    RAG_STORE="milvus", RAG_MILVUS_URI="http://127.0.0.1:9")
    assert "cannot reach Milvus" in error, error


def test_a_restart_reopens_the_lite_file(lite, settings, embedder, reader):
    """Close the client (the Lite server stops), then a new engine on the same folder answers the same."""
    own = settings.model_copy(update={"index_dir": lite})
    first = Engine(own, embedder, reader).ask(SEED)
    release_lite(lite)
    again = Engine(own, embedder, reader)
    assert again.index.manifest["store"] == "milvus"
    second = again.ask(SEED)
    assert second.status == first.status == "conflict"
    assert [c.text for c in second.citations] == [c.text for c in first.citations]
    values = {item["value"]: item["date"] for item in second.conflict}
    assert values.get("1100亿元") == "2024-09-02" and values.get("1000亿元") == "2023-12-22", values


def test_answers_do_not_depend_on_the_store(engine, milvus_engine):
    """Same question, same answer, citations and highlights from the FAISS and the Milvus engine."""
    import json

    items = [json.loads(line) for line in (Path(__file__).parent.parent / "eval" / "questions.jsonl").open(encoding="utf-8")]
    for item in items[::19]:  # ten questions across the kinds
        history = [turn["question"] for turn in item.get("history", [])]
        a, b = (e.ask(item["question"], history=history) for e in (engine, milvus_engine))
        assert (a.status, a.answer, a.value, a.conflict) == (b.status, b.answer, b.value, b.conflict), item["id"]
        assert [(c.doc_id, c.paragraph, c.highlight) for c in a.citations] == [(c.doc_id, c.paragraph, c.highlight) for c in b.citations]
