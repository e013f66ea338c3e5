"""``rag bench``: where the time goes, measured in one run on one machine, written as a report.

Why: speed is claimed in reports with p50/p95 and ratios taken side by side, never in timed
tests. One run covers the query path (bare embedding vs ``/ask`` over loopback), indexing,
the retrieval variants, a LangChain pipeline a user might pick instead, synthetic scale and
concurrent load, and writes ``eval/reports/bench-<time>.md``/``.json`` (+ ``-scale.png``).

Heavy and optional imports live inside the functions, so ``rag --help`` stays quick.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Annotated

import typer

from .serving import LiveServer

SECTIONS = ("query", "indexing", "retrieval", "peer", "scale", "load", "runtime", "uploads")
SCALES = {"100k": (10_000, 100_000), "1m": (10_000, 100_000, 1_000_000)}
INSTALL_HINT = "pip install -e '.[bench]' (or: make bench)"
QUERIES = 50  # per timed series, after WARMUP
WARMUP = 5
TOP_K = 5
DIM = 384  # e5-small
CLUSTER_SIZE = 1000  # synthetic vectors: Gaussian clusters of ~1000 points (topics), noise ~ centre norm
SCALE_QUERIES = 200
TOKENS_PER_PARAGRAPH = 60
LOAD_REQUESTS = 200
LOAD_TIMEOUT_S = 300
LONE_REQUESTS = 20  # one at a time, per load variant
# (name, reader windows per call, questions per embedding call, reader workers); the first is the baseline.
LOAD_VARIANTS = (("no batching, 1 worker", 1, 1, 1), ("batching, 1 worker", 32, 64, 1),
                 ("no batching, 2 workers", 1, 1, 2), ("batching, 2 workers", 32, 64, 2))
READER_QUESTIONS = 100  # CMRC 2018 trial questions for the reader's EM/F1 per runtime (passage given)
READER_SET = Path("../shared/qa-data/cmrc2018_trial.json")

bench_app = typer.Typer(add_completion=False)


def _optional(module: str, package: str):
    """Import an optional bench dependency, or stop with the install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        typer.echo(f"Error: this benchmark needs {package}: {INSTALL_HINT}", err=True)
        raise typer.Exit(1) from None


def _say(message: str) -> None:
    typer.echo(f"[bench {time.strftime('%H:%M:%S')}] {message}", err=True)


def _stats(ms: list[float]) -> dict:
    import numpy as np

    a = np.asarray(ms, dtype=float)
    return {"n": len(a), "p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2), "mean": round(float(a.mean()), 2)}


def _timed(fn, args: list) -> list[float]:
    """Milliseconds of ``fn(arg)`` for each arg."""
    out = []
    for arg in args:
        started = time.perf_counter()
        fn(arg)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _interleaved(steps: dict, items: list[dict]) -> dict[str, list[float]]:
    """Milliseconds of every step on every item, the steps taken in turn per item.

    Why: on a shared 2-core machine speed drifts by tens of percent within a minute; taking the
    steps side by side puts the same drift into each series, so their ratios stay fair.
    """
    ms: dict[str, list[float]] = {name: [] for name in steps}
    for item in items:
        for name, step in steps.items():
            started = time.perf_counter()
            step(item)
            ms[name].append((time.perf_counter() - started) * 1000)
    return ms


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


class Run:
    """What the sections share; the model, index and engine are made once, when first needed."""

    def __init__(self, settings, items: list[dict], workdir: Path) -> None:
        self.settings = settings
        self.items = items
        self.workdir = workdir
        self.index_dir: Path | None = None

    @cached_property
    def embedder(self):
        from .embedding import Embedder

        return Embedder(self.settings, progress=False)

    def build_fresh(self):
        """A timed ``build_index`` into an empty folder, so no vector is reused. Returns (folder, seconds, index)."""
        from .index import build_index

        folder = Path(tempfile.mkdtemp(prefix="index-", dir=self.workdir))
        started = time.perf_counter()
        index = build_index(self.settings.corpus_dir, folder, self.embedder,
                            ann_threshold=self.settings.ann_threshold, progress=False)
        seconds = time.perf_counter() - started
        self.index_dir = self.index_dir or folder
        return folder, seconds, index

    @cached_property
    def served(self):
        """Settings pointing at the bench's own index."""
        if self.index_dir is None:
            self.build_fresh()
        return self.settings.model_copy(update={"index_dir": self.index_dir})

    @cached_property
    def engine(self):
        from .engine import Engine

        return Engine(self.served, self.embedder)

    def server(self) -> LiveServer:
        """A fresh server: new event loop, new worker threads (torch fixes a thread's count on its first op)."""
        from web.app import create_app

        return LiveServer(create_app(self.served, self.engine))


def _payload(item: dict) -> dict:
    return {"question": item["question"], "top_k": TOP_K, "history": item.get("history") or []}


def _history(item: dict) -> list[str]:
    return [turn["question"] for turn in item.get("history") or []]


# --- 1. query path -------------------------------------------------------------------------

def bench_query(run: Run) -> tuple[dict, str]:
    """Bare query embedding vs Engine.ask in-process vs POST /ask over loopback, at torch 1 and 2 threads."""
    import httpx
    import numpy as np
    import torch

    picks = [run.items[i] for i in np.linspace(0, len(run.items) - 1, QUERIES + WARMUP).astype(int)]
    engine, embedder = run.engine, run.embedder
    depth = engine.settings.read_depth
    # What the reader reads for each question: its top passages (found once, outside the timing).
    passages = {it["question"]: [c.text for c in engine.ask(it["question"], depth, _history(it)).citations[:depth]] for it in picks}
    data, rows = {}, []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        engine.reader.batching(run.settings.batch_windows, run.settings.workers)  # fresh model threads take the new count
        embedder.batching()
        with run.server() as live, httpx.Client(base_url=live.url, timeout=60) as http:
            steps = {"Embedder.queries (1 question)": lambda it: embedder.queries([it["question"]]),
                     f"Reader.read ({depth} passages)": lambda it: engine.reader.read(it["question"], passages[it["question"]]),
                     "Engine.ask in-process": lambda it: engine.ask(it["question"], TOP_K, _history(it)),
                     "POST /ask via uvicorn": lambda it: http.post("/ask", json=_payload(it)).raise_for_status()}
            _interleaved(steps, picks[:WARMUP])
            series = {name: _stats(ms) for name, ms in _interleaved(steps, picks[WARMUP:]).items()}
        embed, http_ask = series["Embedder.queries (1 question)"], series["POST /ask via uvicorn"]
        data[threads] = {**series, "http_over_embed_p50": round(http_ask["p50"] / embed["p50"], 2),
                         "http_over_embed_p95": round(http_ask["p95"] / embed["p95"], 2)}
        rows += [[threads, name, s["p50"], s["p95"], _ratio(s["p50"], embed["p50"]), _ratio(s["p95"], embed["p95"])]
                 for name, s in series.items()]
    torch.set_num_threads(run.settings.threads)
    engine.reader.batching(run.settings.batch_windows, run.settings.workers)
    embedder.batching()
    md = (f"{QUERIES} gold questions spread over all kinds (follow-ups with their history), after {WARMUP} warm-up "
          "queries; one request at a time, the three steps taken in turn for each question. Ratios are against the "
          "bare embedding at the same thread count.\n\n"
          + _table(["torch threads", "step", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"], rows))
    return data, md


# --- 2. indexing ---------------------------------------------------------------------------

def bench_indexing(run: Run) -> tuple[dict, str]:
    """Paragraphs/s of the whole build_index as `rag index` runs it (the runtime at RAG_INDEX_THREADS),
    against the bare passage encoding of the same texts by fp32 torch at 1 thread (how indexing ran
    before the ONNX runtime and the index thread setting) and by the runtime at the serving thread count.

    Each encoding runs twice, interleaved with the others, and is averaged, so steady drift hits all alike.
    """
    import torch

    from .chunking import chunk_documents
    from .documents import load_corpus
    from .embedding import Embedder
    from .index import build_index

    documents, _ = load_corpus(Path(run.settings.corpus_dir))
    texts = [chunk.retrieval_text() for chunk in chunk_documents(documents)]
    torch_threads = torch.get_num_threads()
    baseline = Embedder(run.settings.model_copy(update={"runtime": "torch", "threads": 1}), progress=False)
    builder = Embedder(run.settings.model_copy(update={"threads": run.settings.index_threads}), progress=False)
    torch.set_num_threads(torch_threads)  # each Embedder set the process's count to its own
    encoders = {"fp32 torch, 1 thread (before)": (baseline, 1),
                f"{run.settings.runtime}, {run.settings.threads} thread(s) (serving)": (run.embedder, run.settings.threads),
                f"{run.settings.runtime}, {run.settings.index_threads} thread(s) (`rag index`)": (builder, run.settings.index_threads)}

    def encode(embedder, threads: int) -> float:
        torch.set_num_threads(threads)  # torch's count is per process; ONNX Runtime's is fixed per session
        started = time.perf_counter()
        embedder.passages(texts)
        torch.set_num_threads(torch_threads)
        return time.perf_counter() - started

    for embedder, threads in encoders.values():
        embedder.passages(texts[:8])  # warm-up
    seconds = {name: [] for name in encoders}
    for _ in range(2):
        for name, (embedder, threads) in encoders.items():
            seconds[name].append(encode(embedder, threads))
    folder = Path(tempfile.mkdtemp(prefix="index-", dir=run.workdir))
    started = time.perf_counter()
    index = build_index(run.settings.corpus_dir, folder, builder, ann_threshold=run.settings.ann_threshold, progress=False)
    build_s = time.perf_counter() - started
    run.index_dir = run.index_dir or folder
    n = len(index.chunks)
    rates = {name: round(n / statistics.fmean(s), 1) for name, s in seconds.items()}
    before = rates["fp32 torch, 1 thread (before)"]
    data = {"paragraphs": n, "documents": index.manifest["documents"], "threads": run.settings.threads,
            "index_threads": run.settings.index_threads, "runtime": run.settings.runtime,
            "mean_chars": round(sum(map(len, texts)) / len(texts), 1), "build_s": round(build_s, 2),
            "build_per_s": round(n / build_s, 1), "encode_per_s": rates,
            "encode_over_before": {name: round(rate / before, 2) for name, rate in rates.items()},
            "build_over_before": round(n / build_s / before, 2)}
    md = (f"{n} paragraphs ({data['mean_chars']} characters each on average, context included) from "
          f"{data['documents']} articles. Bare encodings of the same texts, each twice, interleaved; then the whole "
          f"build as `rag index` runs it into a fresh folder (nothing reused).\n\n"
          + _table(["step", "paragraphs/s", "against fp32 torch at 1 thread"],
                   [[f"Embedder.passages, {name}", rate, _ratio(rate, before)] for name, rate in rates.items()]
                   + [["build_index (load, chunk, embed, BM25, write, fsync), as `rag index`", data["build_per_s"],
                       _ratio(data["build_per_s"], before)]]))
    return data, md


# --- 3. retrieval variants -----------------------------------------------------------------

def bench_retrieval(run: Run) -> tuple[dict, str]:
    """bm25 / dense / hybrid on the gold set through rag.eval, same engine, same run."""
    from .eval import evaluate

    items = run.items
    data, rows = {}, []
    for mode in ("bm25", "dense", "hybrid"):
        summary = dict(evaluate(run.engine, items, top_k=TOP_K, mode=mode).summary)
        data[mode] = summary
        rows.append([mode] + [summary.get(key, "") for key in ("hit@1", "hit@3", "hit@5", "mrr", "answer_accuracy", "p50_ms", "p95_ms")])
    md = (f"All {len(items)} gold items via `rag.eval.evaluate(engine, items, top_k={TOP_K}, mode=...)`, one mode "
          "after the other: hit@k and MRR over the answerable items, latency over all.\n\n"
          + _table(["mode", "hit@1", "hit@3", "hit@5", "MRR", "answer acc.", "p50 ms", "p95 ms"], rows))
    return data, md


# --- 4. a peer: the same model in a LangChain pipeline ---------------------------------------

def _langchain():
    """The LangChain pieces, or the install hint; EnsembleRetriever moved to langchain_classic in 1.x."""
    core = _optional("langchain_core.embeddings", "langchain-core")
    stores = _optional("langchain_community.vectorstores", "langchain-community")
    retrievers = _optional("langchain_community.retrievers", "langchain-community (with rank-bm25)")
    _optional("rank_bm25", "rank-bm25")
    try:
        from langchain_classic.retrievers import EnsembleRetriever
    except ImportError:
        EnsembleRetriever = _optional("langchain.retrievers", "langchain-classic").EnsembleRetriever
    return core.Embeddings, stores.FAISS, retrievers.BM25Retriever, EnsembleRetriever


def bench_peer(run: Run) -> tuple[dict, str]:
    """Ours vs FAISS + BM25Retriever + EnsembleRetriever (0.5/0.5) over the same chunk texts and model."""
    import jieba
    from sentence_transformers import SentenceTransformer

    from .eval import first_hit
    from .model import ensure_model
    from .tokenizing import default_tokenizer

    Embeddings, FAISS, BM25Retriever, EnsembleRetriever = _langchain()
    path = Path(run.settings.model) if run.settings.model else ensure_model(run.settings.home, progress=False)
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    class E5(Embeddings):
        """sentence-transformers with the e5 prefixes, the way a LangChain user would wire it."""

        def embed_documents(self, texts):
            return model.encode(texts, prompt="passage: ", normalize_embeddings=True, batch_size=32).tolist()

        def embed_query(self, text):
            return model.encode([text], prompt="query: ", normalize_embeddings=True)[0].tolist()

    chunks = run.engine.index.chunks
    texts = [chunk.retrieval_text() for chunk in chunks]
    metadatas = [{"row": i} for i in range(len(chunks))]
    started = time.perf_counter()
    store = FAISS.from_texts(texts, E5(), metadatas=metadatas)
    peer_build_s = time.perf_counter() - started
    dense = store.as_retriever(search_kwargs={"k": TOP_K})
    bm25_plain = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=jieba.lcut, k=TOP_K)
    bm25_ours = BM25Retriever.from_texts(texts, metadatas=metadatas, preprocess_func=default_tokenizer(), k=TOP_K)

    def ensemble(bm25):
        return EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def retrieve(retriever):
        return lambda item: [chunks[d.metadata["row"]].text for d in retriever.invoke(item["question"])[:TOP_K]]

    systems = {
        "ours: Engine.ask (hybrid)": lambda item: [c.text for c in run.engine.ask(item["question"], TOP_K, _history(item)).citations],
        "LangChain FAISS": retrieve(dense),
        "LangChain BM25 (jieba.lcut)": retrieve(bm25_plain),
        "LangChain Ensemble (jieba.lcut)": retrieve(ensemble(bm25_plain)),
        "LangChain Ensemble (rag tokenizer)": retrieve(ensemble(bm25_ours)),
    }
    items = [item for item in run.items if item["answers"]]
    kinds = sorted({item["kind"] for item in items})
    ranks: dict[str, list] = {name: [] for name in systems}

    def judged(name: str, system):
        def step(item: dict) -> None:
            texts_out = system(item)
            ranks[name].append(first_hit(item, [{"rank": r, "text": t} for r, t in enumerate(texts_out, start=1)]))
        return step

    steps = {name: judged(name, system) for name, system in systems.items()}
    _interleaved(steps, items[:WARMUP])
    for judged_ranks in ranks.values():
        judged_ranks.clear()  # the warm-up's
    ms = _interleaved(steps, items)
    data, rows = {"peer_faiss_build_s": round(peer_build_s, 2), "systems": {}}, []
    for name in systems:
        r, s = ranks[name], _stats(ms[name])
        result = {"hit@1": round(sum(x == 1 for x in r) / len(items), 3),
                  "hit@5": round(sum(x is not None for x in r) / len(items), 3),
                  "mrr": round(sum(1 / x for x in r if x) / len(items), 3), "p50_ms": s["p50"], "p95_ms": s["p95"],
                  "hit@1_by_kind": {k: round(sum(x == 1 for x, i in zip(r, items) if i["kind"] == k)
                                             / sum(i["kind"] == k for i in items), 3) for k in kinds}}
        data["systems"][name] = result
        rows.append([name, result["hit@1"], result["hit@5"], result["mrr"], s["p50"], s["p95"]])
    by_kind = [[name] + [r["hit@1_by_kind"][k] for k in kinds] for name, r in data["systems"].items()]
    ours, *peers = data["systems"].items()
    best_name, best = max(peers, key=lambda p: p[1]["hit@1"])
    data["ours_minus_best_peer_hit@1"] = round(ours[1]["hit@1"] - best["hit@1"], 3)
    data["ours_over_best_peer_p50"] = round(ours[1]["p50_ms"] / best["p50_ms"], 2)
    md = (f"{len(items)} answerable gold items, top {TOP_K}, same chunk texts (`retrieval_text()`) and the same rebuilt "
          "e5 model (prefixes `query: `/`passage: `; LangChain's FAISS store is its default IndexFlatL2, the same "
          "order on unit vectors); a hit = citation text holding an answer and its evidence (`rag.eval.first_hit`). "
          "The peer gets the question alone: no history, no English handling, and traditional→simplified only in "
          "the BM25 of the \"rag tokenizer\" variant; ours gets the history like `/ask`. In-process latency, one "
          "query at a time, the systems taken in turn per question. LangChain FAISS store built (embedding all "
          f"paragraphs) in {data['peer_faiss_build_s']} s.\n\n"
          + _table(["system", "hit@1", "hit@5", "MRR", "p50 ms", "p95 ms"], rows)
          + f"\n\nOurs vs the best peer ({best_name}): hit@1 {data['ours_minus_best_peer_hit@1']:+.3f}, "
          f"p50 latency {data['ours_over_best_peer_p50']}×.\n\nhit@1 by kind:\n\n" + _table(["system"] + kinds, by_kind))
    return data, md


# --- 5. scale -------------------------------------------------------------------------------

def _mixture(rng, centres, n: int):
    """``n`` unit vectors around random centres (noise about as long as a centre): clustered, as embeddings are."""
    import numpy as np

    out = np.empty((n, centres.shape[1]), dtype=np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        x = centres[rng.integers(len(centres), size=m)]
        x += rng.standard_normal(x.shape, dtype=np.float32) / np.sqrt(centres.shape[1])
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _token_distribution(corpus_dir: Path):
    """Vocabulary and unigram frequencies of the real corpus, as the index tokenizes it."""
    from collections import Counter

    import numpy as np

    from .chunking import chunk_documents
    from .documents import load_corpus
    from .tokenizing import default_tokenizer

    tokenizer = default_tokenizer()
    documents, _ = load_corpus(Path(corpus_dir))
    counts = Counter(token for chunk in chunk_documents(documents) for token in tokenizer(chunk.retrieval_text()))
    vocab = np.array(list(counts), dtype=object)
    freq = np.array(list(counts.values()), dtype=float)
    return vocab, freq / freq.sum()


def _faiss_case(vectors, queries, approximate: bool, folder: Path, truth=None) -> dict:
    """Build as the product does (all cores), then search one query at a time on one thread; recall@10 vs ``truth``.

    Size is that of the written ``faiss.index`` file (serialising in memory would double the peak at 1M).
    """
    import faiss
    import numpy as np

    from .index import _faiss_index

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = _faiss_index(vectors, approximate=approximate)
    build_s = time.perf_counter() - started
    written = folder / "faiss.index"
    faiss.write_index(index, str(written))
    size = written.stat().st_size
    written.unlink()
    faiss.omp_set_num_threads(1)
    ms = _timed(lambda i: index.search(queries[i:i + 1], 10), range(len(queries)))
    found = index.search(queries, 10)[1]
    truth = found if truth is None else truth
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    return {"build_s": round(build_s, 2), "bytes": int(size), **_stats(ms), "recall@10": round(recall, 4), "found": found}


def _bm25_case(rng, vocab, freq, n: int, questions: list[list[str]]) -> dict:
    """bm25s over ``n`` sampled paragraphs: build time, score-matrix bytes, latency of the product's keyword search."""
    from functools import partial

    import bm25s
    import numpy as np

    from .search import CANDIDATES
    from .stores.faiss import Bm25Keywords

    ids = rng.choice(len(vocab), size=(n, TOKENS_PER_PARAGRAPH), p=freq).astype(np.int32)
    tokens = [vocab[row].tolist() for row in ids]  # strings, as build_index passes them
    del ids
    started = time.perf_counter()
    bm25 = bm25s.BM25(k1=1.2, b=0.75)  # the product's parameters (rag.index.build_index)
    bm25.index(tokens, show_progress=False)
    build_s = time.perf_counter() - started
    del tokens
    keyword = partial(Bm25Keywords(bm25), n=CANDIDATES)  # the product's keyword search (rag.stores.faiss)
    keyword(questions[0])
    ms = _timed(keyword, questions)
    size = sum(a.nbytes for a in bm25.scores.values() if hasattr(a, "nbytes"))
    return {"build_s": round(build_s, 2), "bytes": int(size), **_stats(ms)}


def bench_scale(run: Run, sizes: tuple[int, ...]) -> tuple[dict, str]:
    """Exact vs HNSW FAISS and bm25s on synthetic corpora: build time, bytes, single-query p50/p95, recall@10."""
    import numpy as np

    from .tokenizing import default_tokenizer

    rng = np.random.default_rng(0)
    tokenizer = default_tokenizer()
    vocab, freq = _token_distribution(run.settings.corpus_dir)
    questions = [tokenizer(item["question"]) for item in run.items]
    questions = [questions[i % len(questions)] for i in range(SCALE_QUERIES)]
    vector_rows, bm25_rows, data = [], [], {"vocabulary": len(vocab), "sizes": {}}
    for n in sizes:
        _say(f"scale: {n:,} vectors")
        centres = rng.standard_normal((max(1, n // CLUSTER_SIZE), DIM), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        vectors, queries = _mixture(rng, centres, n), _mixture(rng, centres, SCALE_QUERIES)
        f = _faiss_case(vectors, queries, False, run.workdir)
        h = _faiss_case(vectors, queries, True, run.workdir, truth=f.pop("found"))
        h.pop("found")
        del vectors
        after_faiss = _peak_rss_mb()
        _say(f"scale: {n:,} BM25 paragraphs")
        b = _bm25_case(rng, vocab, freq, n, questions)
        data["sizes"][n] = {"flat": f, "hnsw": h, "bm25": b, "peak_rss_mib_after_faiss": after_faiss,
                            "peak_rss_mib_after_bm25": _peak_rss_mb()}
        vector_rows.append([f"{n:,}", f["build_s"], h["build_s"], f"{f['bytes'] / 2**20:.0f}", f"{h['bytes'] / 2**20:.0f}",
                            f"{f['p50']} / {f['p95']}", f"{h['p50']} / {h['p95']}", _ratio(f["p50"], h["p50"]),
                            h["recall@10"], after_faiss])
        bm25_rows.append([f"{n:,}", b["build_s"], f"{b['bytes'] / 2**20:.0f}", f"{b['p50']} / {b['p95']}",
                          _ratio(b["p50"], h["p50"]), data["sizes"][n]["peak_rss_mib_after_bm25"]])
    md = (f"Synthetic unit vectors (dimension {DIM}, Gaussian clusters of ~{CLUSTER_SIZE}), {SCALE_QUERIES} held-out "
          "queries from the same clusters. FAISS built as the product builds it (`rag.index._faiss_index`: "
          "IndexFlatIP; IndexHNSWFlat M=32, efConstruction 80, efSearch 64, inner product) with all "
          f"{os.cpu_count()} OpenMP threads, searched one query at a time with 1 thread; recall@10 against the exact "
          "index; size = the written index file. Peak RSS is the process's, cumulative.\n\n"
          + _table(["paragraphs", "flat build s", "HNSW build s", "flat MiB", "HNSW MiB", "flat p50/p95 ms",
                    "HNSW p50/p95 ms", "flat/HNSW p50", "HNSW recall@10", "peak RSS MiB"], vector_rows)
          + f"\n\nBM25: bm25s (k1 1.2, b 0.75) over {TOKENS_PER_PARAGRAPH} tokens per paragraph sampled from the real "
          f"corpus's token frequencies ({len(vocab):,}-word vocabulary, so posting lists are denser than a real "
          "corpus of that size would give), queried with the gold questions' jieba tokens through the product's "
          "`Searcher.keyword` (every paragraph scored, then the top 50 selected). Size = the score matrix.\n\n"
          + _table(["paragraphs", "build s", "MiB", "p50/p95 ms", "BM25/HNSW p50", "peak RSS MiB"], bm25_rows))
    return data, md


def _plot(scale: dict, path: Path, title: str) -> None:
    """Single-query latency against corpus size, log-log: p50 solid, p95 dotted."""
    matplotlib = _optional("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in scale["sizes"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, label, colour in (("flat", "FAISS flat (exact)", "tab:blue"), ("hnsw", "FAISS HNSW", "tab:orange"),
                                ("bm25", "BM25 (bm25s)", "tab:green")):
        series = [scale["sizes"][n][kind] for n in sizes]
        ax.plot(sizes, [s["p50"] for s in series], "o-", color=colour, label=f"{label} p50")
        ax.plot(sizes, [s["p95"] for s in series], ":", color=colour, label=f"{label} p95")
    ax.set(xscale="log", yscale="log", xlabel="paragraphs (synthetic)", ylabel="single-query latency (ms)", title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- 6. load --------------------------------------------------------------------------------

def bench_load(run: Run) -> tuple[dict, str]:
    """200 concurrent POST /ask on loopback, batching off vs on and one vs two reader workers, side
    by side in one run: errors, latency, throughput; and one request at a time, so batching is
    seen not to slow a lone question."""
    import asyncio

    import httpx
    import numpy as np

    payloads = [_payload(run.items[i % len(run.items)]) for i in range(LOAD_REQUESTS)]
    lone = [_payload(run.items[i]) for i in np.linspace(0, len(run.items) - 1, LONE_REQUESTS).astype(int)]

    async def fire(url: str):
        limits = httpx.Limits(max_connections=LOAD_REQUESTS, max_keepalive_connections=LOAD_REQUESTS)
        async with httpx.AsyncClient(base_url=url, timeout=LOAD_TIMEOUT_S, limits=limits) as client:
            async def one(payload: dict) -> tuple[float, str | None]:
                started = time.perf_counter()
                try:
                    response = await client.post("/ask", json=payload)
                    error = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                return (time.perf_counter() - started) * 1000, error

            started = time.perf_counter()
            results = await asyncio.gather(*(one(p) for p in payloads))
            return results, time.perf_counter() - started

    engine, data, rows = run.engine, {}, []
    for name, windows, questions, workers in LOAD_VARIANTS:
        engine.reader.batching(windows, workers)
        engine.embedder.batching(questions)
        with run.server() as live:
            with httpx.Client(base_url=live.url, timeout=60) as http:
                one_at_a_time = _timed(lambda p: http.post("/ask", json=p).raise_for_status(), lone)
            results, wall_s = asyncio.run(fire(live.url))
        errors = [e for _, e in results if e]
        s, single = _stats([ms for ms, _ in results]), _stats(one_at_a_time)
        calls = max(1, engine.reader.batcher.calls)
        data[name] = {"requests": LOAD_REQUESTS, "errors": len(errors), "error_kinds": sorted(set(errors)), **s,
                      "wall_s": round(wall_s, 2), "throughput_rps": round(LOAD_REQUESTS / wall_s, 2),
                      "jobs_per_reader_call": round(engine.reader.batcher.jobs / calls, 2),
                      "lone_p50": single["p50"], "lone_p95": single["p95"], "workers": workers}
        rows.append([name, len(errors), s["p50"], s["p95"], s["max"], data[name]["wall_s"], data[name]["throughput_rps"],
                     data[name]["jobs_per_reader_call"], single["p50"], single["p95"]])
    engine.reader.batching(run.settings.batch_windows, run.settings.workers)
    engine.embedder.batching()
    first = LOAD_VARIANTS[0][0]
    for name in data:
        data[name]["throughput_over_unbatched"] = round(data[name]["throughput_rps"] / data[first]["throughput_rps"], 2)
    data = {"variants": data}
    md = (f"{LOAD_REQUESTS} requests sent at once (httpx.AsyncClient, loopback, timeout {LOAD_TIMEOUT_S} s), gold "
          f"questions, runtime {run.settings.runtime}, {run.settings.threads} thread(s) per reader worker; then {LONE_REQUESTS} requests one at a "
          "time on the same server (a lone question must not get slower). Variants run one after another in this run.\n\n"
          + _table(["variant", "errors", "p50 ms", "p95 ms", "max ms", "wall s", "requests/s", "reader jobs per call",
                    "lone p50 ms", "lone p95 ms"], rows)
          + "\n\nA reader job is one question's windows, or with two workers half of them (a question is dealt over the workers)."
          + "\n\nThroughput against the unbatched server: "
          + ", ".join(f"{name} {v['throughput_over_unbatched']}×" for name, v in data["variants"].items()) + ".")
    return data, md


def bench_uploads(run: Run) -> tuple[dict, str]:
    """20 uploads and 100 questions at once: /health stays under 1 s, every upload ends ready or refused."""
    from . import bench_upload

    if run.index_dir is None:
        run.build_fresh()
    folder = Path(tempfile.mkdtemp(prefix="uploads-", dir=run.workdir))
    data = bench_upload.check_uploads(run.settings, run.embedder, run.engine.reader, folder, run.index_dir,
                                      [item["question"] for item in run.items])
    return data, bench_upload.report(data)


# --- 7. runtimes -----------------------------------------------------------------------------

def bench_runtime(run: Run) -> tuple[dict, str]:
    """Every runtime (fp32 torch, torch int8, ONNX Runtime fp32 and int8) side by side: each step's latency,
    encoding rate, and what each changes against fp32 torch (passage-vector cosine, gold hit@k and
    answers, reader EM/F1)."""
    import numpy as np

    from .embedding import Embedder
    from .engine import Engine
    from .eval import evaluate
    from .reader.build import ensure_reader
    from .reader.evaluate import reading_comprehension
    from .reader.reader import Reader
    from .reader.squad import load_examples
    from .runtime import RUNTIMES

    engines = {}
    for runtime in RUNTIMES:
        settings = run.served.model_copy(update={"runtime": runtime})
        embedder = run.embedder if runtime == run.settings.runtime else Embedder(settings, progress=False)
        reader = Reader(ensure_reader(settings.home), threads=settings.threads,
                        windows_per_passage=settings.reader_windows, runtime=runtime, home=settings.home)
        engines[runtime] = Engine(settings, embedder, reader)
    first = engines[RUNTIMES[0]]
    depth = first.settings.read_depth
    picks = [run.items[i] for i in np.linspace(0, len(run.items) - 1, QUERIES + WARMUP).astype(int)]
    passages = {it["question"]: [c.text for c in first.ask(it["question"], depth, _history(it)).citations[:depth]] for it in picks}
    steps = {}
    for runtime, engine in engines.items():
        steps[f"{runtime}: Embedder.queries (1 question)"] = lambda it, e=engine: e.embedder.queries([it["question"]])
        steps[f"{runtime}: Reader.read ({depth} passages)"] = lambda it, e=engine: e.reader.read(it["question"], passages[it["question"]])
        steps[f"{runtime}: Engine.ask"] = lambda it, e=engine: e.ask(it["question"], TOP_K, _history(it))
    _interleaved(steps, picks[:WARMUP])
    series = {name: _stats(ms) for name, ms in _interleaved(steps, picks[WARMUP:]).items()}

    texts = [chunk.retrieval_text() for chunk in first.index.chunks]
    vectors, rates = {}, {}
    for runtime, engine in engines.items():
        started = time.perf_counter()
        vectors[runtime] = engine.embedder.passages(texts)
        rates[runtime] = round(len(texts) / (time.perf_counter() - started), 1)
    cosine = {rt: np.sum(vectors["torch"] * v, axis=1) for rt, v in vectors.items() if rt != "torch"}
    examples = load_examples(READER_SET)[:READER_QUESTIONS] if READER_SET.is_file() else []
    quality = {}
    for runtime, engine in engines.items():
        summary = dict(evaluate(engine, run.items, top_k=TOP_K).summary)
        quality[runtime] = {key: summary.get(key) for key in ("hit@1", "hit@5", "answer_accuracy", "em", "f1")}
        if examples:
            reading = reading_comprehension(engine.reader, examples)
            quality[runtime].update(reader_em=reading["em"], reader_f1=reading["f1"])
    base = series["torch: Embedder.queries (1 question)"]
    data = {"steps": series, "encode_per_s": rates, "quality": quality, "threads": run.settings.threads,
            "cosine_min": {rt: round(float(c.min()), 4) for rt, c in cosine.items()},
            "cosine_mean": {rt: round(float(c.mean()), 4) for rt, c in cosine.items()},
            "over_torch": {rt: {step: round(series[f"{rt}: {step}"]["p50"] / series[f"torch: {step}"]["p50"], 2)
                                for step in ("Embedder.queries (1 question)", f"Reader.read ({depth} passages)", "Engine.ask")}
                           | {"encode_speedup": round(rates[rt] / rates["torch"], 2)} for rt in cosine}}
    keys = ("hit@1", "hit@5", "answer_accuracy", "em", "f1", "reader_em", "reader_f1")
    md = (f"All runtimes loaded side by side, {run.settings.threads} thread(s) each; {QUERIES} gold questions after "
          f"{WARMUP} warm-ups, every step of every runtime taken in turn for each question. Ratios against the fp32 "
          "bare query embedding.\n\n"
          + _table(["step", "p50 ms", "p95 ms", "p50 ratio"], [[n, v["p50"], v["p95"], _ratio(v["p50"], base["p50"])] for n, v in series.items()])
          + f"\n\nPassage encoding of all {len(texts)} indexed paragraphs: "
          + ", ".join(f"{rt} {rate}/s" for rt, rate in rates.items())
          + ". Vectors against fp32 torch's: " + ", ".join(f"{rt} cosine min {data['cosine_min'][rt]}, mean "
                                                             f"{data['cosine_mean'][rt]}" for rt in cosine) + ".\n\n"
          + f"Quality (gold set, {len(run.items)} items, open corpus; reader alone on the first {len(examples)} CMRC 2018 trial questions):\n\n"
          + _table(["runtime", *keys], [[rt, *(q.get(k, "") for k in keys)] for rt, q in quality.items()]))
    return data, md


# --- report ---------------------------------------------------------------------------------

class _Contention:
    """CPU time other processes took while the bench ran: a shared machine makes every number noisier."""

    def __init__(self) -> None:
        self.psutil = _optional("psutil", "psutil")
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        times, own = self.psutil.cpu_times(), self.psutil.Process().cpu_times()
        busy = times.user + times.nice + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)
        return time.perf_counter(), busy, own.user + own.system, getattr(times, "steal", 0.0)

    def report(self) -> dict:
        (t0, busy0, own0, steal0), (t1, busy1, own1, steal1) = self.start, self._sample()
        others = max(0.0, (busy1 - busy0) - (own1 - own0))
        available = (t1 - t0) * (os.cpu_count() or 1)
        return {"other_processes_cpu_s": round(others, 1), "available_cpu_s": round(available, 1),
                "other_processes_share": round(others / available, 3) if available else None,
                "steal_cpu_s": round(steal1 - steal0, 1), "load_average_end": [round(x, 2) for x in os.getloadavg()]}


def _headlines(results: dict, threads: int) -> list[str]:
    """One line per section that ran: the ratio or rate it exists to show."""
    lines = []
    if "query" in results:
        threads = min(threads, 2)  # the query path is measured at 1 and 2
        q = results["query"][threads]
        lines.append(f"Query path (torch {threads}): POST /ask p50 {q['POST /ask via uvicorn']['p50']} ms = "
                     f"{q['http_over_embed_p50']}× the bare query embedding ({q['Embedder.queries (1 question)']['p50']} ms); "
                     f"p95 {q['http_over_embed_p95']}×.")
    if "indexing" in results:
        i = results["indexing"]
        lines.append(f"Indexing: `rag index` builds {i['build_per_s']} paragraphs/s ({i['build_over_before']}× fp32 torch's bare "
                     f"encoding at 1 thread); bare encoding against it: " + ", ".join(
                         f"{name} {ratio}×" for name, ratio in i["encode_over_before"].items()) + ".")
    if "retrieval" in results:
        r = results["retrieval"]
        lines.append("Retrieval hit@1 / MRR: " + ", ".join(f"{m} {r[m]['hit@1']} / {r[m]['mrr']}" for m in ("bm25", "dense", "hybrid")) + ".")
    if "peer" in results:
        ours = results["peer"]["systems"]["ours: Engine.ask (hybrid)"]
        lines.append(f"Peer: ours hit@1 {ours['hit@1']}, {results['peer']['ours_minus_best_peer_hit@1']:+.3f} vs the best "
                     f"LangChain pipeline, at {results['peer']['ours_over_best_peer_p50']}× its p50 latency.")
    if "scale" in results:
        n = max(results["scale"]["sizes"])
        f, h, b = (results["scale"]["sizes"][n][k] for k in ("flat", "hnsw", "bm25"))
        lines.append(f"Scale at {n:,}: flat p50 {f['p50']} ms vs HNSW {h['p50']} ms ({_ratio(f['p50'], h['p50'])}, "
                     f"recall@10 {h['recall@10']}); BM25 p50 {b['p50']} ms.")
    if "runtime" in results:
        r = results["runtime"]
        lines.append("Runtime, against fp32 torch: " + "; ".join(
            f"{rt} Engine.ask p50 {v['Engine.ask']}×, encoding {v['encode_speedup']}× as fast, vectors cosine ≥ "
            f"{r['cosine_min'][rt]}, reader F1 {r['quality'][rt].get('reader_f1')}" for rt, v in r["over_torch"].items())
            + f" (torch reader F1 {r['quality']['torch'].get('reader_f1')}).")
    if "load" in results:
        lines.append(f"Load, {LOAD_REQUESTS} concurrent /ask: " + "; ".join(
            f"{name}: {v['errors']} errors, {v['throughput_rps']} requests/s ({v['throughput_over_unbatched']}×), "
            f"p50 {v['p50']} ms, p95 {v['p95']} ms, lone p50 {v['lone_p50']} ms" for name, v in results["load"]["variants"].items()) + ".")
    return [f"- {line}" for line in lines]


def _git() -> str:
    """The commit measured, and how many files differ from it: a report must say what code it describes."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, check=True).stdout

    try:
        changed = len(git("status", "--porcelain").splitlines())
        return git("rev-parse", "--short", "HEAD").strip() + (f" + {changed} changed files" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _machine(settings) -> dict:
    import bm25s
    import faiss
    import torch

    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(_optional("psutil", "psutil").virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "torch": torch.__version__, "faiss": faiss.__version__,
        "bm25s": bm25s.__version__, "RAG_THREADS (settings.threads)": settings.threads,
        "torch threads at start (Embedder sets RAG_THREADS)": torch.get_num_threads(), "faiss OpenMP threads": faiss.omp_get_max_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
        "load average at start (1/5/15 min)": [round(x, 2) for x in os.getloadavg()],
        "code (git)": _git(),
    }


@bench_app.callback(invoke_without_command=True)
def bench(
    scale: Annotated[str, typer.Option(help="largest synthetic corpus: 100k, or 1m (slow, ~4 GB)")] = "100k",
    only: Annotated[str, typer.Option(help=f"comma-separated sections: {','.join(SECTIONS)}")] = ",".join(SECTIONS),
    out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("eval/reports"),
    gold: Annotated[Path, typer.Option(help="gold questions (JSON lines)")] = Path("eval/questions.jsonl"),
) -> None:
    """Benchmark the query path, indexing, retrieval variants, a LangChain peer, scale and load; write a report.

    Example: rag bench --only query,load
    """
    from .config import get_settings
    from .eval import GoldSetError, load_questions

    chosen = [s.strip() for s in only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown section {', '.join(unknown) or '(none)'}; choose from {', '.join(SECTIONS)}", param_hint="--only")
    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}", param_hint="--scale")
    try:
        items = load_questions(gold)
    except (OSError, GoldSetError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--gold") from None
    _optional("psutil", "psutil")
    if "scale" in chosen:
        _optional("matplotlib", "matplotlib")
    if "peer" in chosen:
        _langchain()

    settings = get_settings()
    contention, started = _Contention(), time.perf_counter()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    run = Run(settings, items, workdir)
    machine = _machine(settings)
    sections = {"indexing": bench_indexing, "query": bench_query, "retrieval": bench_retrieval, "peer": bench_peer,
                "load": bench_load, "scale": lambda r: bench_scale(r, SCALES[scale]), "runtime": bench_runtime,
                "uploads": bench_uploads}
    results, texts = {}, {}
    try:
        for name in sections:  # indexing first: its fresh index then serves the other sections
            if name in chosen:
                _say(f"{name} …")
                section_started = time.perf_counter()
                results[name], texts[name] = sections[name](run)
                results[name]["section_s"] = round(time.perf_counter() - section_started, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    total_s, peak, others = round(time.perf_counter() - started, 1), _peak_rss_mb(), contention.report()
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"bench-{stamp}"
    titles = {"query": "1. Query path", "indexing": "2. Indexing", "retrieval": "3. Retrieval variants",
              "peer": "4. Peer: the same model in LangChain", "scale": "5. Scale (synthetic)", "load": "6. Load",
              "runtime": "7. Runtimes: torch fp32 and int8, ONNX Runtime fp32 and int8",
              "uploads": "8. Uploads under load"}
    command = f"rag bench --scale {scale} --only {','.join(chosen)}" + (f" --gold {gold}" if gold != Path("eval/questions.jsonl") else "")
    parts = [f"# Benchmark {stamp}", f"`{command}` — total {total_s} s, peak RSS {peak} MiB.",
             "## Headlines", "\n".join(_headlines(results, settings.threads)), "## Machine", _table(["", ""], [[k, v] for k, v in machine.items()]),
             f"Other processes used {others['other_processes_cpu_s']} of the {others['available_cpu_s']} CPU-seconds "
             f"available during the run ({others['other_processes_share']:.0%}), the hypervisor took {others['steal_cpu_s']} "
             f"(steal); load average at the end "
             f"{others['load_average_end']}. Compare ratios taken in this run rather than absolute times across runs."]
    for name in SECTIONS:
        if name in texts:
            parts += [f"## {titles[name]}", texts[name] + f"\n\n_Section time: {results[name]['section_s']} s._"]
    if "scale" in results:
        png = base.with_name(base.name + "-scale.png")
        _plot(results["scale"], png, f"single-query latency, {machine['cpu']}, 1 thread")
        parts.append(f"![latency against corpus size]({png.name})")
    report = "\n\n".join(parts) + "\n"
    base.with_suffix(".md").write_text(report, encoding="utf-8")
    base.with_suffix(".json").write_text(json.dumps(
        {"stamp": stamp, "command": command, "total_s": total_s, "peak_rss_mib": peak, "machine": machine,
         "contention": others, "results": results},
        ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    (out / "bench-latest.md").write_text(report, encoding="utf-8")
    typer.echo(f"wrote {base}.md and .json ({total_s} s, peak RSS {peak} MiB)")
