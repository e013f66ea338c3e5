"""Section 3, retrieval variants: bm25, dense and hybrid on the gold set, same engine, same run."""

from __future__ import annotations

from .common import TOP_K, Run, table


def bench_retrieval(run: Run) -> tuple[dict, str]:
    """bm25 / dense / hybrid on the gold set through rag.eval, same engine, same run."""
    from ..eval import evaluate

    items = run.items
    data, rows = {}, []
    for mode in ("bm25", "dense", "hybrid"):
        summary = dict(evaluate(run.engine, items, top_k=TOP_K, mode=mode).summary)
        data[mode] = summary
        rows.append([mode] + [summary.get(key, "") for key in ("hit@1", "hit@3", "hit@5", "mrr", "answer_accuracy", "p50_ms", "p95_ms")])
    md = (f"All {len(items)} gold items via `rag.eval.evaluate(engine, items, top_k={TOP_K}, mode=...)`, one mode "
          "after the other: hit@k and MRR over the answerable items, latency over all.\n\n"
          + table(["mode", "hit@1", "hit@3", "hit@5", "MRR", "answer acc.", "p50 ms", "p95 ms"], rows))
    return data, md
