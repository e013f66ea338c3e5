"""Section 2, indexing: paragraphs/s of `rag index` against bare encodings of the same texts."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from .common import Run, ratio, table


def bench_indexing(run: Run) -> tuple[dict, str]:
    """Paragraphs/s of the whole build_index as `rag index` runs it (the runtime at RAG_INDEX_THREADS),
    against the bare passage encoding of the same texts by fp32 torch at 1 thread (how indexing ran
    before the ONNX runtime and the index thread setting) and by the runtime at the serving thread count.

    Each encoding runs twice, interleaved with the others, and is averaged, so steady drift hits all alike.
    """
    import torch

    from ..chunking import chunk_documents
    from ..documents import load_corpus
    from ..embedding import Embedder

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
    folder, build_s, index = run.build_fresh(embedder=builder)
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
          + table(["step", "paragraphs/s", "against fp32 torch at 1 thread"],
                   [[f"Embedder.passages, {name}", rate, ratio(rate, before)] for name, rate in rates.items()]
                   + [["build_index (load, chunk, embed, BM25, write, fsync), as `rag index`", data["build_per_s"],
                       ratio(data["build_per_s"], before)]]))
    return data, md
