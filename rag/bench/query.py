"""Section 1, the query path: bare query embedding, the reader, Engine.ask in-process, and POST /ask to a served process."""

from __future__ import annotations

from .common import QUERIES, TOP_K, WARMUP, Run, history, interleaved, payload, ratio, spread, stats, table


def _engine_at(run: Run, threads: int):
    """The run's engine when it has ``threads`` threads, else a new one at ``threads`` (an ONNX Runtime
    session keeps the thread count it was made with; torch's is set per process)."""
    import torch

    from ..embedding import Embedder
    from ..engine import Engine

    torch.set_num_threads(threads)
    if threads == run.settings.threads:
        return run.engine
    settings = run.served.model_copy(update={"threads": threads, "workers": run.settings.workers})
    return Engine(settings, Embedder(settings, progress=False))


def bench_query(run: Run) -> tuple[dict, str]:
    """Bare query embedding vs Engine.ask in-process vs POST /ask over loopback (``rag serve`` in its own
    process, as a user runs it), at 1 and 2 threads."""
    import httpx
    import torch

    picks = spread(run.items, QUERIES + WARMUP)
    depth = run.engine.settings.read_depth
    # What the reader reads for each question: its top passages (found once, outside the timing).
    passages = {it["question"]: [c.text for c in run.engine.ask(it["question"], depth, history(it)).citations[:depth]]
                for it in picks}
    data, rows = {}, []
    for threads in (1, 2):
        engine = _engine_at(run, threads)
        embedder = engine.embedder
        with run.server(threads=threads, workers=run.settings.workers) as live, \
                httpx.Client(base_url=live.url, timeout=60, headers=live.headers) as http:
            steps = {"Embedder.queries (1 question)": lambda it: embedder.queries([it["question"]]),
                     f"Reader.read ({depth} passages)": lambda it: engine.reader.read(it["question"], passages[it["question"]]),
                     "Engine.ask in-process": lambda it: engine.ask(it["question"], TOP_K, history(it)),
                     "POST /ask via uvicorn": lambda it: http.post("/ask", json=payload(it)).raise_for_status()}
            interleaved(steps, picks[:WARMUP])
            series = {name: stats(ms) for name, ms in interleaved(steps, picks[WARMUP:]).items()}
        embed, http_ask = series["Embedder.queries (1 question)"], series["POST /ask via uvicorn"]
        data[threads] = {**series, "http_over_embed_p50": round(http_ask["p50"] / embed["p50"], 2),
                         "http_over_embed_p95": round(http_ask["p95"] / embed["p95"], 2)}
        rows += [[threads, name, s["p50"], s["p95"], ratio(s["p50"], embed["p50"]), ratio(s["p95"], embed["p95"])]
                 for name, s in series.items()]
    torch.set_num_threads(run.settings.threads)
    md = (f"{QUERIES} gold questions spread over all kinds (follow-ups with their history), after {WARMUP} warm-up "
          "queries; one request at a time, the steps taken in turn for each question. `rag serve` runs in its own "
          "process with the same thread count (RAG_THREADS) as the in-process steps. Ratios are against the "
          "bare embedding at the same thread count.\n\n"
          + table(["threads", "step", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"], rows))
    return data, md
