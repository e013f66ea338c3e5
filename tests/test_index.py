"""The saved index: round trip, atomic replacement, and re-embedding only what changed."""

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

from rag.index import CURRENT, Index, IndexUnavailable, build_index

from .conftest import CORPUS, ROOT


def test_round_trip(index_dir: Path):
    index = Index.load(index_dir)
    manifest = index.manifest
    assert manifest["dimension"] == 384 and manifest["chunks"] == len(index.chunks) == index.store.count
    assert manifest["documents"] == 5 and len(manifest["corpus_fingerprint"]) == 16
    assert manifest["faiss"] == "flat" and manifest["built_at"]
    vectors = index.store.vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The stored vector of a chunk is its own nearest neighbour.
    (row, score), *_ = index.store.dense(vectors[7], 1)
    assert row == 7 and score > 0.99
    assert index.store.keyword(["鹿泉区"], 5)[0][1] > 0
    assert index.documents[index.chunks[0].doc_id]["title"] == index.chunks[0].title


def copy_index(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def test_rebuild_reuses_vectors_and_embeds_only_new_paragraphs(tmp_path, index_dir, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "2025-01_new.md").write_text(
        '---\ntitle: "新文章"\ndate: "2025-01-05"\nsource: 测试\n---\n\n'
        "鹿泉区2025年计划新建三座数据中心。\n\n园区将引进十家配套企业，完善产业链条。\n", encoding="utf-8")
    folder = copy_index(index_dir, tmp_path / "index")
    before = Index.load(folder)
    after = build_index(corpus, folder, embedder, progress=False)
    assert after.version != before.version
    assert after.manifest["embedded"] == 2
    assert after.manifest["reused"] == before.manifest["chunks"]
    assert after.manifest["documents"] == 6


def test_corrupted_index_is_reported(tmp_path, index_dir):
    folder = copy_index(index_dir, tmp_path / "index")
    version = (folder / CURRENT).read_text().strip()
    (folder / version / "faiss.index").write_bytes(b"not an index")
    with pytest.raises(IndexUnavailable, match="rag index"):
        Index.load(folder)
    (folder / CURRENT).unlink()
    with pytest.raises(IndexUnavailable, match="rag index"):
        Index.load(folder)


def test_inconsistent_manifest_is_reported(tmp_path, index_dir):
    folder = copy_index(index_dir, tmp_path / "index")
    manifest = folder / (folder / CURRENT).read_text().strip() / "manifest.json"
    data = json.loads(manifest.read_text())
    data["chunks"] += 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable, match="inconsistent"):
        Index.load(folder)


def test_failed_build_leaves_the_previous_index_serving(tmp_path, index_dir, embedder):
    folder = copy_index(index_dir, tmp_path / "index")
    version = Index.current_version(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(Exception):
        build_index(empty, folder, embedder, progress=False)
    assert Index.current_version(folder) == version
    assert Index.load(folder).manifest["chunks"] > 100


def test_killed_build_leaves_the_previous_index_serving(tmp_path, index_dir):
    """SIGKILL a real `rag index` mid-build: CURRENT still names a complete, loadable version."""
    folder = copy_index(index_dir, tmp_path / "index")
    version = Index.current_version(folder)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    paragraphs = "\n\n".join(f"第{i}段：鹿泉区第{i}个项目计划投资{i * 3}亿元，建设新的产业园区和研发中心。" for i in range(400))
    (corpus / "2025-02_big.md").write_text(f'---\ntitle: "大文章"\ndate: "2025-02-01"\n---\n\n{paragraphs}\n', encoding="utf-8")
    env = {**os.environ, "RAG_THREADS": "1"}
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
    assert Index.load(folder).manifest["documents"] == 5
