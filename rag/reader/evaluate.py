"""Reading comprehension: the reader alone, gold passage given, scored as CMRC scores it.

Why apart from ``rag eval``: open-corpus numbers mix retrieval and reading errors; this tells
the reading errors alone. A set with unanswerable questions (a passage on the question's topic
without its answer: a near miss) is also scored as the product declines: a passage read as the
top hit answers when the reader's margin (best span − no answer) clears ``decline_below``.
"""

from __future__ import annotations

import statistics
import time

from .metrics import exact_match, f1
from .squad import Example

NOT_FOUND_PRECISION = 0.90  # the precision at which the best not-found recall is reported


def reading_comprehension(reader, examples: list[Example], progress: bool = False,
                          decline_below: float | None = None) -> dict:
    """EM and F1 of the reader's best span over each answerable example's whole passage; with
    unanswerable examples, how well its margin tells them from the answerable ones."""
    from tqdm import tqdm

    ems, f1s, margins, started = [], [], [], time.perf_counter()
    for example in tqdm(examples, disable=not progress, unit="q"):
        spans = reader.read(example.question, [example.context], windows_per_passage=None)
        margins.append((spans[0].score - spans[0].no_answer) if spans else float("-inf"))
        if example.answers:
            predicted = spans[0].text if spans else ""
            ems.append(exact_match(predicted, list(example.answers)))
            f1s.append(f1(predicted, list(example.answers)))
    seconds = time.perf_counter() - started
    result = {"questions": len(ems), "em": round(statistics.fmean(ems), 4) if ems else None,
              "f1": round(statistics.fmean(f1s), 4) if f1s else None,
              "ms_per_question": round(1000 * seconds / max(1, len(examples)), 1)}
    unanswerable = [m for m, e in zip(margins, examples) if not e.answers]
    if unanswerable:
        answerable = [m for m, e in zip(margins, examples) if e.answers]
        result["not_found"] = not_found(answerable, unanswerable, decline_below)
    return result


def not_found(answerable: list[float], unanswerable: list[float], decline_below: float | None) -> dict:
    """Separation of the two margin lists (AUC), the decline rates at the product's threshold, and
    the best not-found recall at a precision of at least NOT_FOUND_PRECISION."""
    pairs = sum((u < a) + 0.5 * (u == a) for u in unanswerable for a in answerable)
    result = {"unanswerable": len(unanswerable), "auc": round(pairs / (len(answerable) * len(unanswerable)), 4)}
    if decline_below is not None:
        result.update(_declined(answerable, unanswerable, decline_below), threshold=round(decline_below, 3))
    best = None
    for cut in sorted(set(unanswerable + answerable)):
        rates = _declined(answerable, unanswerable, cut)
        if rates["precision"] is not None and rates["precision"] >= NOT_FOUND_PRECISION:
            best = {**rates, "threshold": round(cut, 3)}
    result[f"at_precision_{NOT_FOUND_PRECISION}"] = best
    return result


def _declined(answerable: list[float], unanswerable: list[float], below: float) -> dict:
    right = sum(m < below for m in unanswerable)
    wrong = sum(m < below for m in answerable)
    return {"recall": round(right / len(unanswerable), 4),
            "precision": round(right / (right + wrong), 4) if right + wrong else None,
            "wrongly_declined": round(wrong / max(1, len(answerable)), 4)}
