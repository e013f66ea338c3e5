"""The saved index: round trip, atomic replacement, and re-embedding only what changed, on both stores.

The Milvus variants each get their own Lite file (a private copy of the session index rebuilt into
Milvus, reusing every vector), so nothing here touches the shared indexes.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.index import CURRENT, KEEP_VERSIONS, Index, IndexUnavailable, build_index
from rag.search import Searcher

from .conftest import CORPUS, ROOT, milvus_copy, release_lite

STORES = ["faiss", "milvus"]
NEW_ARTICLE = ('---\ntitle: "新文章"\ndate: "2025-01-05"\nsource: 测试\n---\n\n'
               "鹿泉区2025年计划新建三座数据中心。\n\n园区将引进十家配套企业，完善产业链条。\n")


def copy_index(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


@pytest.fixture(params=STORES)
def private(request, tmp_path, index_dir, embedder):
    """(store, folder): a private copy of the seed index on that store."""
    if request.param == "faiss":
        yield "faiss", copy_index(index_dir, tmp_path / "index")
        return
    pytest.importorskip("pymilvus", reason="the Milvus store needs the milvus extra")
    folder = milvus_copy(index_dir, tmp_path / "index", embedder)
    yield "milvus", folder
    release_lite(folder)


@pytest.mark.parametrize("store", STORES)
def test_round_trip(request, store):
    index = Index.load(request.getfixturevalue("index_dir" if store == "faiss" else "milvus_index_dir"))
    manifest = index.manifest
    assert manifest["dimension"] == 384 and manifest["chunks"] == len(index.chunks) == index.store.count
    assert manifest["documents"] == 5 and len(manifest["corpus_fingerprint"]) == 16
    assert manifest["store"] == store and manifest["built_at"]
    assert manifest["faiss"] == "flat" if store == "faiss" else manifest["collection"] == f"rag_{index.version.replace('-', '_')}"
    vectors = index.store.vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The stored vector of a chunk is its own nearest neighbour.
    (row, score), *_ = index.store.dense(vectors[7], 1)
    assert row == 7 and score > 0.99
    assert index.store.keyword(["鹿泉区"], 5)[0][1] > 0
    assert index.documents[index.chunks[0].doc_id]["title"] == index.chunks[0].title
    index.close()


def test_add_and_delete_cycle(tmp_path, private, embedder):
    """Add an article: only its paragraphs are embedded and it is found; delete it: nothing is embedded,
    it is gone; versions beyond the kept ones are pruned (on Milvus, with their collections)."""
    store, folder = private
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    (corpus / "2025-01_new.md").write_text(NEW_ARTICLE, encoding="utf-8")
    before = Index.load(folder)
    added = build_index(corpus, folder, embedder, progress=False, store=store)
    assert added.version != before.version and added.manifest["store"] == store
    assert added.manifest["embedded"] == 2
    assert added.manifest["reused"] == before.manifest["chunks"]
    assert added.manifest["documents"] == 6
    question = "鹿泉区2025年计划新建几座数据中心"
    assert Searcher(added, embedder)(question, k=1)[0].chunk.doc_id == "2025-01_new"

    (corpus / "2025-01_new.md").unlink()
    removed = build_index(corpus, folder, embedder, progress=False, store=store)
    assert removed.manifest["embedded"] == 0 and removed.manifest["documents"] == 5
    assert all(h.chunk.doc_id != "2025-01_new" for h in Searcher(removed, embedder)(question, k=10))
    versions = sorted(p.name for p in folder.glob("v-*"))
    assert len(versions) == KEEP_VERSIONS and removed.version in versions  # (two builds in one second sort by their random part)
    if store == "milvus":
        from rag.stores.milvus import collection_name

        assert sorted(removed.store.client.list_collections()) == sorted(collection_name(v) for v in versions)
    for index in (before, added, removed):
        index.close()


def test_corrupted_index_is_reported(private):
    store, folder = private
    version = (folder / CURRENT).read_text().strip()
    if store == "faiss":
        (folder / version / "faiss.index").write_bytes(b"not an index")
    else:  # the version's collection was dropped on the server
        index = Index.load(folder)
        index.store.client.drop_collection(index.manifest["collection"])
        index.close()
    with pytest.raises(IndexUnavailable, match="rag index"):
        Index.load(folder)
    (folder / CURRENT).unlink()
    with pytest.raises(IndexUnavailable, match="rag index"):
        Index.load(folder)


def test_inconsistent_manifest_is_reported(private):
    _, folder = private
    manifest = folder / (folder / CURRENT).read_text().strip() / "manifest.json"
    data = json.loads(manifest.read_text())
    data["chunks"] += 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable, match="inconsistent"):
        Index.load(folder)


def test_failed_build_leaves_the_previous_index_serving(tmp_path, private, embedder):
    store, folder = private
    version = Index.current_version(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception):
        build_index(empty, folder, embedder, progress=False, store=store)
    assert Index.current_version(folder) == version
    index = Index.load(folder)
    assert index.manifest["chunks"] > 100 and index.manifest["store"] == store
    index.close()


def test_killed_build_leaves_the_previous_index_serving(tmp_path, private):
    """SIGKILL a real `rag index` mid-build: CURRENT still names a complete, loadable version."""
    store, folder = private
    release_lite(folder)  # a Lite file is one process's: hand it to the build
    version = Index.current_version(folder)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    paragraphs = "\n\n".join(f"第{i}段：鹿泉区第{i}个项目计划投资{i * 3}亿元，建设新的产业园区和研发中心。" for i in range(400))
    (corpus / "2025-02_big.md").write_text(f'---\ntitle: "大文章"\ndate: "2025-02-01"\n---\n\n{paragraphs}\n', encoding="utf-8")
    env = {**os.environ, "RAG_THREADS": "1", "RAG_STORE": store}
    process = subprocess.Popen([sys.executable, "-m", "rag.cli", "index", str(corpus), "--index-dir", str(folder), "--quiet"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for line in process.stderr:  # "6 articles, 580 paragraphs": chunking done, embedding starts
            if b"paragraphs" in line:
                break
        time.sleep(1.0)  # well inside embedding 400 new paragraphs
        assert process.poll() is None, "the build finished before it could be interrupted"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert Index.current_version(folder) == version
    index = Index.load(folder)
    assert index.manifest["documents"] == 5 and index.manifest["store"] == store
    index.close()
