"""``rag bench-stores``: build time and query latency of each index store on the same synthetic rows.

Rows are random unit vectors and paragraphs of words drawn from a Zipf-like vocabulary, written
through each store's own ``write`` and searched through the ``Store`` interface the product uses
(dense candidates, keyword candidates, stored vectors of the union), one query at a time. On
Milvus Lite this measures Lite, a single-process test build; it says nothing about a Milvus cluster.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..chunking import Chunk
from ..config import get_settings
from ..reports import append_history, commit, figures, keep_latest
from ..search import CANDIDATES
from ..stores import Contents, backend
from .common import stats, table, timed

DIMENSION = 384
WORDS = 20_000
TOKENS_PER_ROW = 60
QUERIES = 100


def _rows(n: int, seed: int = 7):
    import bm25s

    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIMENSION), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    p = 1 / np.arange(1, WORDS + 1)
    p /= p.sum()
    tokens = [[f"w{t}" for t in row] for row in rng.choice(WORDS, size=(n, TOKENS_PER_ROW), p=p)]
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(tokens, show_progress=False)
    chunks = [Chunk(doc_id=f"d{i // 20}", paragraph=i % 20 + 1, text=" ".join(t[:30]), spans=[(0, 1)], date="2025-01-01")
              for i, t in enumerate(tokens)]
    queries = [(vectors[i] + 0.1 * rng.standard_normal(DIMENSION).astype(np.float32), tokens[i][:4])
               for i in rng.choice(n, QUERIES, replace=False)]
    return Contents(chunks, vectors, bm25, approximate=False), queries


def _search(store, query) -> None:
    vector, tokens = query
    rows = list(dict.fromkeys([r for r, _ in store.dense(vector, CANDIDATES)] + [r for r, _ in store.keyword(tokens, CANDIDATES)]))
    store.vectors(rows) @ vector


def measure(names: list[str], sizes: list[int]) -> dict:
    settings = get_settings().model_copy(update={"milvus_uri": None})
    results: dict = {}
    for n in sizes:
        contents, queries = _rows(n)
        for name in names:
            root = Path(tempfile.mkdtemp(prefix=f"store-bench-{name}-"))
            version, folder = "v-bench", root / "v-bench"
            folder.mkdir()
            try:
                module = backend(name)
                started = time.perf_counter()
                manifest = module.write(folder, version, contents, settings)
                store = module.open(folder, {"store": name, **manifest}, settings)
                build_s = time.perf_counter() - started
                _search(store, queries[0])
                ms = timed(lambda q: _search(store, q), queries)
                store.close()
            finally:
                shutil.rmtree(root, ignore_errors=True)
            results.setdefault(str(n), {})[name] = {"build_s": round(build_s, 2), **stats(ms)}
            print(f"{name} at {n}: build {build_s:.1f} s, query p50 {results[str(n)][name]['p50']} ms", flush=True)
    return results


def report(results: dict, out: Path) -> Path:
    rows = [[n, name, r["build_s"], r["p50"], r["p95"]] for n, by in results.items() for name, r in by.items()]
    text = ("# Index stores: build and query on synthetic rows\n\n"
            f"{DIMENSION}-d unit vectors, {TOKENS_PER_ROW} tokens per row from a {WORDS:,}-word Zipf vocabulary; a query is "
            f"dense top {CANDIDATES} + keyword top {CANDIDATES} + the stored vectors of their union, one at a time "
            f"({QUERIES} queries). Build = the store's write + open (load). Milvus here is Milvus Lite (one process, "
            "for correctness); these numbers say nothing about a Milvus server or cluster.\n\n"
            + table(["rows", "store", "build s", "query p50 ms", "query p95 ms"], rows) + "\n\n"
            "Reading it: the FAISS store searches exactly (flat) below RAG_ANN_THRESHOLD (200k rows), and that scan is "
            "most of its query time at 100k rows; Lite runs as a separate process, so it computes beside the caller.\n")
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = out / f"bench-stores-{stamp}.md"
    path.write_text(text, encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    keep_latest(out, "bench-stores")
    append_history(out, [{"timestamp": stamp, "set": "bench-stores", "commit": commit(), "report": path.name,
                          "other": figures({f"{name}@{n} p50_ms": r["p50"] for n, by in results.items() for name, r in by.items()})}])
    return path
