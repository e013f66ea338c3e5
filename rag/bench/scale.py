"""Section 5, scale: exact and HNSW FAISS and bm25s on synthetic corpora up to 100k (or 1M) paragraphs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .common import Run, optional, peak_rss_mb, ratio, say, stats, table, timed

DIM = 384  # e5-small
CLUSTER_SIZE = 1000  # synthetic vectors: Gaussian clusters of ~1000 points (topics), noise ~ centre norm
SCALE_QUERIES = 200
TOKENS_PER_PARAGRAPH = 60


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

    from ..chunking import chunk_documents
    from ..documents import load_corpus
    from ..tokenizing import default_tokenizer

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

    from ..index import _faiss_index

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    index = _faiss_index(vectors, approximate=approximate)
    build_s = time.perf_counter() - started
    written = folder / "faiss.index"
    faiss.write_index(index, str(written))
    size = written.stat().st_size
    written.unlink()
    faiss.omp_set_num_threads(1)
    ms = timed(lambda i: index.search(queries[i:i + 1], 10), range(len(queries)))
    found = index.search(queries, 10)[1]
    truth = found if truth is None else truth
    recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
    return {"build_s": round(build_s, 2), "bytes": int(size), **stats(ms), "recall@10": round(recall, 4), "found": found}


def _bm25_case(rng, vocab, freq, n: int, questions: list[list[str]]) -> dict:
    """bm25s over ``n`` sampled paragraphs: build time, score-matrix bytes, latency of the product's keyword search."""
    from functools import partial

    import bm25s
    import numpy as np

    from ..search import CANDIDATES
    from ..stores.faiss import Bm25Keywords

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
    ms = timed(keyword, questions)
    size = sum(a.nbytes for a in bm25.scores.values() if hasattr(a, "nbytes"))
    return {"build_s": round(build_s, 2), "bytes": int(size), **stats(ms)}


def bench_scale(run: Run, sizes: tuple[int, ...]) -> tuple[dict, str]:
    """Exact vs HNSW FAISS and bm25s on synthetic corpora: build time, bytes, single-query p50/p95, recall@10."""
    import numpy as np

    from ..tokenizing import default_tokenizer

    rng = np.random.default_rng(0)
    tokenizer = default_tokenizer()
    vocab, freq = _token_distribution(run.settings.corpus_dir)
    questions = [tokenizer(item["question"]) for item in run.items]
    questions = [questions[i % len(questions)] for i in range(SCALE_QUERIES)]
    vector_rows, bm25_rows, data = [], [], {"vocabulary": len(vocab), "sizes": {}}
    for n in sizes:
        say(f"scale: {n:,} vectors")
        centres = rng.standard_normal((max(1, n // CLUSTER_SIZE), DIM), dtype=np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        vectors, queries = _mixture(rng, centres, n), _mixture(rng, centres, SCALE_QUERIES)
        f = _faiss_case(vectors, queries, False, run.workdir)
        h = _faiss_case(vectors, queries, True, run.workdir, truth=f.pop("found"))
        h.pop("found")
        del vectors
        after_faiss = peak_rss_mb()
        say(f"scale: {n:,} BM25 paragraphs")
        b = _bm25_case(rng, vocab, freq, n, questions)
        data["sizes"][n] = {"flat": f, "hnsw": h, "bm25": b, "peak_rss_mib_after_faiss": after_faiss,
                            "peak_rss_mib_after_bm25": peak_rss_mb()}
        vector_rows.append([f"{n:,}", f["build_s"], h["build_s"], f"{f['bytes'] / 2**20:.0f}", f"{h['bytes'] / 2**20:.0f}",
                            f"{f['p50']} / {f['p95']}", f"{h['p50']} / {h['p95']}", ratio(f["p50"], h["p50"]),
                            h["recall@10"], after_faiss])
        bm25_rows.append([f"{n:,}", b["build_s"], f"{b['bytes'] / 2**20:.0f}", f"{b['p50']} / {b['p95']}",
                          ratio(b["p50"], h["p50"]), data["sizes"][n]["peak_rss_mib_after_bm25"]])
    md = (f"Synthetic unit vectors (dimension {DIM}, Gaussian clusters of ~{CLUSTER_SIZE}), {SCALE_QUERIES} held-out "
          "queries from the same clusters. FAISS built as the product builds it (`rag.index._faiss_index`: "
          "IndexFlatIP; IndexHNSWFlat M=32, efConstruction 80, efSearch 64, inner product) with all "
          f"{os.cpu_count()} OpenMP threads, searched one query at a time with 1 thread; recall@10 against the exact "
          "index; size = the written index file. Peak RSS is the process's, cumulative.\n\n"
          + table(["paragraphs", "flat build s", "HNSW build s", "flat MiB", "HNSW MiB", "flat p50/p95 ms",
                    "HNSW p50/p95 ms", "flat/HNSW p50", "HNSW recall@10", "peak RSS MiB"], vector_rows)
          + f"\n\nBM25: bm25s (k1 1.2, b 0.75) over {TOKENS_PER_PARAGRAPH} tokens per paragraph sampled from the real "
          f"corpus's token frequencies ({len(vocab):,}-word vocabulary, so posting lists are denser than a real "
          "corpus of that size would give), queried with the gold questions' jieba tokens through the product's "
          "`Searcher.keyword` (every paragraph scored, then the top 50 selected). Size = the score matrix.\n\n"
          + table(["paragraphs", "build s", "MiB", "p50/p95 ms", "BM25/HNSW p50", "peak RSS MiB"], bm25_rows))
    return data, md


def plot(scale: dict, path: Path, title: str) -> None:
    """Single-query latency against corpus size, log-log: p50 solid, p95 dotted."""
    matplotlib = optional("matplotlib", "matplotlib")
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
