"""Section 7, runtimes: fp32 torch, torch int8, ONNX Runtime fp32 and int8 side by side, speed and quality."""

from __future__ import annotations

import time
from pathlib import Path

from .common import QUERIES, TOP_K, WARMUP, Run, history, interleaved, ratio, spread, stats, table

READER_QUESTIONS = 100  # CMRC 2018 trial questions for the reader's EM/F1 per runtime (passage given)
READER_SET = Path("../shared/qa-data/cmrc2018_trial.json")


def bench_runtime(run: Run) -> tuple[dict, str]:
    """Every runtime (fp32 torch, torch int8, ONNX Runtime fp32 and int8) side by side: each step's latency,
    encoding rate, and what each changes against fp32 torch (passage-vector cosine, gold hit@k and
    answers, reader EM/F1)."""
    import numpy as np

    from ..embedding import Embedder
    from ..engine import Engine
    from ..eval import evaluate
    from ..reader.build import ensure_reader
    from ..reader.evaluate import reading_comprehension
    from ..reader.reader import Reader
    from ..reader.squad import load_examples
    from ..runtime import RUNTIMES

    engines = {}
    for runtime in RUNTIMES:
        settings = run.served.model_copy(update={"runtime": runtime})
        embedder = run.embedder if runtime == run.settings.runtime else Embedder(settings, progress=False)
        reader = Reader(ensure_reader(settings.home), threads=settings.threads,
                        windows_per_passage=settings.reader_windows, runtime=runtime, home=settings.home)
        engines[runtime] = Engine(settings, embedder, reader)
    first = engines[RUNTIMES[0]]
    depth = first.settings.read_depth
    picks = spread(run.items, QUERIES + WARMUP)
    passages = {it["question"]: [c.text for c in first.ask(it["question"], depth, history(it)).citations[:depth]] for it in picks}
    steps = {}
    for runtime, engine in engines.items():
        steps[f"{runtime}: Embedder.queries (1 question)"] = lambda it, e=engine: e.embedder.queries([it["question"]])
        steps[f"{runtime}: Reader.read ({depth} passages)"] = lambda it, e=engine: e.reader.read(it["question"], passages[it["question"]])
        steps[f"{runtime}: Engine.ask"] = lambda it, e=engine: e.ask(it["question"], TOP_K, history(it))
    interleaved(steps, picks[:WARMUP])
    series = {name: stats(ms) for name, ms in interleaved(steps, picks[WARMUP:]).items()}

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
          + table(["step", "p50 ms", "p95 ms", "p50 ratio"], [[n, v["p50"], v["p95"], ratio(v["p50"], base["p50"])] for n, v in series.items()])
          + f"\n\nPassage encoding of all {len(texts)} indexed paragraphs: "
          + ", ".join(f"{rt} {rate}/s" for rt, rate in rates.items())
          + ". Vectors against fp32 torch's: " + ", ".join(f"{rt} cosine min {data['cosine_min'][rt]}, mean "
                                                             f"{data['cosine_mean'][rt]}" for rt in cosine) + ".\n\n"
          + f"Quality (gold set, {len(run.items)} items, open corpus; reader alone on the first {len(examples)} CMRC 2018 trial questions):\n\n"
          + table(["runtime", *keys], [[rt, *(q.get(k, "") for k in keys)] for rt, q in quality.items()]))
    return data, md
