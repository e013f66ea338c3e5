"""Fit how the answer step weighs reader against retrieval, and when it declines, on development data.

Why fitted: the reader's margin (best span − no answer, in logits) and the retrieval score are on
different scales, and where "not found" begins depends on both. Both are chosen by a grid search on
development questions (answerable and unanswerable, on more than one corpus), never on the sets the
product is measured on.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from .answer import AnswerWeights
from .answer.readings import said
from .reader.metrics import f1
from .tokenizing import normalize

RETRIEVAL_GRID = [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0]


@dataclass
class Candidate:
    margin: float
    retrieval: float
    eligible: bool  # anchored and not dated to another year
    correct: bool


@dataclass
class Row:
    set: str
    answerable: bool
    candidates: list[Candidate]


def _correct(reading, answers: list[str]) -> bool:
    """The span answers: a gold answer is in the answer sentence, or the span overlaps one well (F1 ≥ 0.5)."""
    sentence = normalize(said(reading))
    return any(normalize(a) in sentence for a in answers) or f1(reading.value, answers) >= 0.5


def collect(engine, items: list[dict], name: str, progress: bool = False) -> list[Row]:
    """Every read passage's margin, retrieval score, anchoring and correctness, per question."""
    from tqdm import tqdm

    rows = []
    for item in tqdm(items, desc=name, disable=not progress):
        history = [turn["question"] for turn in item.get("history", [])]
        question, hits = engine.retrieve(item["question"], history)
        readings = [r for r in engine.answerer.read(question, hits) if r.span is not None]
        answers = item["answers"]
        rows.append(Row(name, bool(answers), [Candidate(r.margin, r.hit.score, r.eligible, bool(answers) and _correct(r, answers))
                                              for r in readings]))
    return rows


def _choose(row: Row, retrieval: float) -> tuple[float, bool] | None:
    """The answer score and correctness of the passage the answer step would pick."""
    scored = [(c.margin + retrieval * c.retrieval, c) for c in row.candidates if c.eligible]
    if not scored:
        return None
    score, best = max(scored, key=lambda pair: pair[0])
    return score, best.correct


def evaluate(rows: list[Row], weights: AnswerWeights) -> dict:
    """Per set: correct answers among answerable questions, wrongly declined, unanswerable declined."""
    result = {}
    for name in dict.fromkeys(r.set for r in rows):
        mine = [r for r in rows if r.set == name]
        answerable = [r for r in mine if r.answerable]
        unanswerable = [r for r in mine if not r.answerable]
        picks = [(_choose(r, weights.retrieval), r) for r in mine]
        answered = lambda p: p is not None and p[0] >= weights.threshold  # noqa: E731
        result[name] = {
            "questions": len(mine),
            "correct": round(sum(1 for p, r in picks if r.answerable and answered(p) and p[1]) / max(1, len(answerable)), 4),
            "wrongly_declined": round(sum(1 for p, r in picks if r.answerable and not answered(p)) / max(1, len(answerable)), 4),
            "declined_unanswerable": round(sum(1 for p, r in picks if not r.answerable and not answered(p)) / len(unanswerable), 4)
            if unanswerable else None,
        }
    return result


def fit(rows: list[Row]) -> tuple[AnswerWeights, dict]:
    """Retrieval weight: most correct picks on answerable questions, averaged over the sets.
    Threshold: most questions answered right or declined rightly, averaged over the sets (so a set's
    share of unanswerable questions is what the threshold trades against)."""
    names = list(dict.fromkeys(r.set for r in rows))

    def pick_rate(retrieval: float) -> float:
        rates = []
        for name in names:
            answerable = [r for r in rows if r.set == name and r.answerable]
            if answerable:
                rates.append(statistics.fmean(bool((p := _choose(r, retrieval)) and p[1]) for r in answerable))
        return statistics.fmean(rates)

    retrieval = max(RETRIEVAL_GRID, key=lambda w: (pick_rate(w), -w))
    scores = sorted({round(p[0], 2) for r in rows if (p := _choose(r, retrieval))})
    unanswerable = [r for r in rows if not r.answerable]

    def balance(threshold: float) -> float:
        """What a user of each set sees: answered right or declined rightly, sets weighing the same."""
        def right(r: Row) -> bool:
            p = _choose(r, retrieval)
            answered = p is not None and p[0] >= threshold
            return (answered and p[1]) if r.answerable else not answered
        return statistics.fmean(statistics.fmean(right(r) for r in rows if r.set == name) for name in names)

    threshold = max([-100.0] + scores, key=lambda t: (round(balance(t), 4), -abs(t)))
    weights = AnswerWeights(retrieval=retrieval, threshold=threshold)
    declined = [r for r in rows if not ((p := _choose(r, retrieval)) and p[0] >= threshold)]
    right = sum(1 for r in declined if not r.answerable)
    return weights, {"pick_rate": round(pick_rate(retrieval), 4), "balance": round(balance(threshold), 4),
                     "not_found_precision": round(right / len(declined), 4) if declined else None,
                     "not_found_recall": round(right / len(unanswerable), 4) if unanswerable else None}


def write(weights: AnswerWeights, report: dict, path: Path) -> None:
    path.write_text(json.dumps({**asdict(weights), **report}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_corpus(examples, folder: Path, absent_every: int = 2) -> list[dict]:
    """Passages of held-out training questions as a corpus folder (one article each), and their
    questions. Every ``absent_every``-th passage is left out, so its questions have no answer in the
    corpus: the not-found threshold learns from questions a user could really ask of it."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    names: dict[str, str] = {}
    items = []
    for example in examples:
        if example.context not in names:
            names[example.context] = f"p{len(names):04d}"
            if len(names) % absent_every:
                title = example.title.replace('"', "'")
                (folder / f"{names[example.context]}.md").write_text(
                    f'---\ntitle: "{title}"\nsource: held-out training passage\n---\n\n{example.context}\n', encoding="utf-8")
        present = (folder / f"{names[example.context]}.md").exists()
        items.append({"id": example.id, "question": example.question, "answers": list(example.answers) if present else [],
                      "kind": "fact" if present else "unanswerable"})
    return items
