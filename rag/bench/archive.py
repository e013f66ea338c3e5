"""Section 9, an archive: the query path on long dated documents (yearly reports), where a question names a
document or a year, or asks a figure of every year (the series reads up to 8 more passages).

Why apart from section 1: the seed articles are short; an archive's paragraphs are long and its
questions read more passages, so its speed is its own. The archive is a folder with ``corpus/`` and
``questions.jsonl`` (``../shared/archive-dev`` by default); without one the section says so and skips.
"""

from __future__ import annotations

from pathlib import Path

from .common import QUERIES, TOP_K, WARMUP, Run, history, interleaved, ratio, spread, stats, table

ARCHIVE = Path("../shared/archive-dev")
SHORT_WINDOW = 96  # passage tokens of a reader window in the shorter-window rows (`reader_tokens`), beside the default


def bench_archive(run: Run) -> tuple[dict, str]:
    """Index the archive (timed), then per question in turn: the bare query embedding, retrieval, the
    reader on the top passages, and Engine.ask in-process; Engine.ask again reading all its passages at
    once, every one in full (``read_first`` = ``read_depth``: no focused windows, as before); the last
    two again with shorter reader windows (the part of each passage sharing most with the question:
    cheaper, and measured less accurate)."""
    from ..engine import Engine
    from ..eval import load_questions

    archive = run.archive or ARCHIVE
    if not (archive / "corpus").is_dir() or not (archive / "questions.jsonl").is_file():
        return {"skipped": f"no archive at {archive}"}, f"Skipped: no `corpus/` and `questions.jsonl` under `{archive}`."
    folder, indexing_s, index = run.build_fresh(archive / "corpus")
    engine = Engine(run.settings.model_copy(update={"index_dir": folder}), run.embedder)
    short = Engine(run.settings.model_copy(update={"index_dir": folder, "reader_tokens": SHORT_WINDOW}), run.embedder)
    at_once = Engine(run.settings.model_copy(update={"index_dir": folder, "read_first": engine.settings.read_depth}),
                     run.embedder, engine.reader)
    picks = spread(load_questions(archive / "questions.jsonl"), QUERIES + WARMUP)
    depth = engine.settings.read_depth
    passages = {it["question"]: [h.chunk.text for h in engine.retrieve(it["question"], history(it))[1][:depth]] for it in picks}
    steps = {"Embedder.queries (1 question)": lambda it: run.embedder.queries([it["question"]]),
             "Engine.retrieve": lambda it: engine.retrieve(it["question"], history(it)),
             f"Reader.read ({depth} passages)": lambda it: engine.reader.read(it["question"], passages[it["question"]]),
             "Engine.ask in-process": lambda it: engine.ask(it["question"], TOP_K, history(it)),
             f"Engine.ask, {depth} passages read at once": lambda it: at_once.ask(it["question"], TOP_K, history(it)),
             f"Reader.read ({depth} passages, {SHORT_WINDOW}-token windows)": lambda it: short.reader.read(it["question"], passages[it["question"]]),
             f"Engine.ask, {SHORT_WINDOW}-token windows": lambda it: short.ask(it["question"], TOP_K, history(it))}
    interleaved(steps, picks[:WARMUP])
    series = {name: stats(ms) for name, ms in interleaved(steps, picks[WARMUP:]).items()}
    embed, ask = series["Embedder.queries (1 question)"], series["Engine.ask in-process"]
    at_once_ask = series[f"Engine.ask, {depth} passages read at once"]
    paragraphs = len(index.chunks)
    data = {"archive": str(archive), "paragraphs": paragraphs, "indexing_s": round(indexing_s, 1),
            "indexing_per_s": round(paragraphs / indexing_s, 1), **series,
            "ask_over_embed_p50": round(ask["p50"] / embed["p50"], 2), "ask_over_embed_p95": round(ask["p95"] / embed["p95"], 2),
            "ask_over_at_once_p50": round(ask["p50"] / at_once_ask["p50"], 2),
            "ask_over_at_once_p95": round(ask["p95"] / at_once_ask["p95"], 2)}
    rows = [[name, s["p50"], s["p95"], ratio(s["p50"], embed["p50"]), ratio(s["p95"], embed["p95"])] for name, s in series.items()]
    md = (f"`{archive}`: {paragraphs} paragraphs indexed in {indexing_s:.0f} s ({data['indexing_per_s']} paragraphs/s, "
          f"{run.settings.threads} thread(s)); {QUERIES} of its questions spread over all kinds, after {WARMUP} warm-up "
          "questions, the steps taken in turn for each question; ratios against the bare embedding. `Engine.ask` "
          f"against reading all {depth} passages at once: p50 {data['ask_over_at_once_p50']}×, "
          f"p95 {data['ask_over_at_once_p95']}×.\n\n"
          + table(["step", "p50 ms", "p95 ms", "p50 ratio", "p95 ratio"], rows))
    return data, md
