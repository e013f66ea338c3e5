"""Reading comprehension: the reader alone, gold passage given, scored as CMRC scores it.

Why apart from ``rag eval``: open-corpus numbers mix retrieval and reading errors; this tells
the reading errors alone.
"""

from __future__ import annotations

import statistics
import time

from .metrics import exact_match, f1
from .squad import Example


def reading_comprehension(reader, examples: list[Example], progress: bool = False) -> dict:
    """EM and F1 of the reader's best span over each example's whole passage."""
    from tqdm import tqdm

    ems, f1s, started = [], [], time.perf_counter()
    for example in tqdm(examples, disable=not progress, unit="q"):
        spans = reader.read(example.question, [example.context], windows_per_passage=None)
        predicted = spans[0].text if spans else ""
        ems.append(exact_match(predicted, list(example.answers)))
        f1s.append(f1(predicted, list(example.answers)))
    seconds = time.perf_counter() - started
    return {"questions": len(examples), "em": round(statistics.fmean(ems), 4) if ems else None,
            "f1": round(statistics.fmean(f1s), 4) if f1s else None,
            "ms_per_question": round(1000 * seconds / max(1, len(examples)), 1)}
