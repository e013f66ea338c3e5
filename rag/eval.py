"""Measure answer quality on a gold question set: retrieval hits, answers, abstention, conflicts, latency.

A citation *hits* when its text contains one of the acceptable answers and the item's evidence
(a distinctive substring of the answering passage), compared after width/comma normalisation.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .reader.metrics import exact_match, f1
from .tokenizing import normalize

KINDS = ("fact", "paraphrase", "english", "traditional", "follow-up", "conflict", "unanswerable")
REQUIRED = ("id", "question", "answers", "kind")


class GoldSetError(ValueError):
    """The question file is missing or malformed."""


def load_questions(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise GoldSetError(f"question set not found: {path}")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldSetError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        missing = [key for key in REQUIRED if key not in item]
        if missing:
            raise GoldSetError(f"{path}:{number}: missing {', '.join(missing)}")
        if item["kind"] not in KINDS:
            raise GoldSetError(f"{path}:{number}: unknown kind {item['kind']!r} (one of {', '.join(KINDS)})")
        items.append(item)
    if not items:
        raise GoldSetError(f"no questions in {path}")
    return items


def _pairs(item: dict) -> list[tuple[list[str], str]]:
    """(acceptable answers, evidence) pairs; a conflict item has one pair per value."""
    evidence = item.get("evidence")
    if isinstance(evidence, list):
        return [([answer], ev) for answer, ev in zip(item["answers"], evidence)]
    return [(item["answers"], evidence or "")]


def cites(text: str, answers: list[str], evidence: str) -> bool:
    norm = normalize(text)
    return normalize(evidence) in norm and any(normalize(a) in norm for a in answers)


def shown(citation: dict) -> str:
    """What a citation card shows: its heading and its passage."""
    return f"{citation.get('heading', '')}\n{citation['text']}"


def first_hit(item: dict, citations: list[dict]) -> int | None:
    """1-based rank of the first citation that answers the item, if any."""
    for citation in citations:
        if any(cites(shown(citation), answers, evidence) for answers, evidence in _pairs(item)):
            return citation["rank"]
    return None


@dataclass
class Outcome:
    id: str
    kind: str
    question: str
    rank: int | None
    answer: str | None
    answer_ok: bool
    abstained: bool
    conflict_covered: bool | None
    latency_ms: float
    expected: list[str]
    top: list[str] = field(default_factory=list)
    confidence: float = 0.0
    status: str = ""
    value: str | None = None
    em: float | None = None  # the value against the gold answers, as CMRC scores it (answerable items only)
    f1: float | None = None

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def failed(self) -> bool:
        if not self.answerable:
            return not self.abstained
        return self.rank != 1 or not self.answer_ok or self.conflict_covered is False


def judge(item: dict, response: dict, latency_ms: float) -> Outcome:
    citations = response.get("citations", [])
    answer = response.get("answer")
    abstained = answer is None
    rank = first_hit(item, citations) if item["kind"] != "unanswerable" else None
    norm_answer = normalize(answer or "")
    if item["kind"] == "conflict":
        answer_ok = all(normalize(a) in norm_answer for a in item["answers"])
        covered = all(any(cites(shown(c), answers, ev) for c in citations[:5]) for answers, ev in _pairs(item))
    else:
        answer_ok = any(normalize(a) in norm_answer for a in item["answers"]) if item["answers"] else abstained
        covered = None
    top = [f"[{c['rank']}] {c['date']} #{c['paragraph']} {c['text'][:60]}" for c in citations[:3]]
    value = response.get("value")
    scored = item["kind"] != "unanswerable"
    return Outcome(item["id"], item["kind"], item["question"], rank, answer, answer_ok, abstained, covered,
                   latency_ms, item["answers"], top, response.get("confidence", 0.0), response.get("status", ""),
                   value, exact_match(value, item["answers"]) if scored else None,
                   f1(value, item["answers"]) if scored else None)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summarise(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    conflicts = [o for o in outcomes if o.conflict_covered is not None]
    latencies = [o.latency_ms for o in outcomes]

    def rate(items, predicate) -> float | None:
        return round(sum(1 for o in items if predicate(o)) / len(items), 4) if items else None

    return {
        "questions": len(outcomes),
        "hit@1": rate(answerable, lambda o: o.rank == 1),
        "hit@3": rate(answerable, lambda o: o.rank is not None and o.rank <= 3),
        "hit@5": rate(answerable, lambda o: o.rank is not None and o.rank <= 5),
        "mrr": round(statistics.fmean(1 / o.rank if o.rank else 0 for o in answerable), 4) if answerable else None,
        "answer_accuracy": rate(answerable, lambda o: o.answer_ok),
        "em": round(statistics.fmean(o.em for o in answerable), 4) if answerable else None,
        "f1": round(statistics.fmean(o.f1 for o in answerable), 4) if answerable else None,
        "wrongly_abstained": rate(answerable, lambda o: o.abstained),
        "abstention_accuracy": rate(unanswerable, lambda o: o.abstained),
        "abstention_precision": rate([o for o in outcomes if o.abstained], lambda o: not o.answerable),
        "conflict_coverage": rate(conflicts, lambda o: o.conflict_covered),
        "p50_ms": round(_percentile(latencies, 0.5), 1),
        "p95_ms": round(_percentile(latencies, 0.95), 1),
    }


@dataclass
class Report:
    summary: dict
    by_kind: dict[str, dict]
    outcomes: list[Outcome]
    settings: dict

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    def to_json(self) -> dict:
        return {"settings": self.settings, "summary": self.summary, "by_kind": self.by_kind,
                "failures": [asdict(o) for o in self.failures], "outcomes": [asdict(o) for o in self.outcomes]}

    def to_markdown(self) -> str:
        keys = ["questions", "hit@1", "hit@3", "hit@5", "mrr", "answer_accuracy", "em", "f1", "wrongly_abstained",
                "abstention_accuracy", "abstention_precision", "conflict_coverage", "p50_ms", "p95_ms"]
        fmt = lambda v: "–" if v is None else str(v)  # noqa: E731
        lines = [f"# Evaluation {self.settings['when']}", "",
                 " · ".join(f"{k}: {v}" for k, v in self.settings.items() if k != "when"), "",
                 "| set | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|",
                 "| **all** | " + " | ".join(fmt(self.summary[k]) for k in keys) + " |"]
        for kind, summary in self.by_kind.items():
            lines.append(f"| {kind} | " + " | ".join(fmt(summary[k]) for k in keys) + " |")
        lines += ["", f"## Failures ({len(self.failures)})", ""]
        for o in self.failures:
            got = o.answer if o.answer is not None else "(not found)"
            lines.append(f"- **{o.id}** ({o.kind}) {o.question} — expected {' / '.join(o.expected) or '(not found)'}; "
                         f"hit rank {o.rank}; value: {o.value}; answer: {got}")
            lines += [f"    - {t}" for t in o.top]
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        """``<name>-<stamp>.md`` and ``.json`` in ``folder``; older reports of the set go, and one line
        goes to ``history.csv`` beside ``folder`` (see :mod:`rag.reports`)."""
        from . import reports

        folder.mkdir(parents=True, exist_ok=True)
        stamp = self.settings["when"].replace(":", "").replace("-", "")
        name = "eval" if self.settings.get("set", "questions") == "questions" else f"eval-{self.settings['set']}"
        md, js = folder / f"{name}-{stamp}.md", folder / f"{name}-{stamp}.json"
        md.write_text(self.to_markdown(), encoding="utf-8")
        js.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        reports.keep_latest(folder, name)
        other = {key: self.settings[key] for key in ("mode", "url") if key in self.settings and self.settings[key] != "hybrid"}
        reports.append_history(folder, [reports.eval_row(self.summary, timestamp=stamp, set=self.settings.get("set", "questions"),
                                                         commit=reports.commit(), report=md.name, other=reports.figures(other))])
        return md, js


Ask = Callable[[str, int, list[str]], dict]


def engine_asker(engine, mode: str = "hybrid") -> Ask:
    def ask(question: str, top_k: int, history: list[str]) -> dict:
        return asdict(engine.ask(question, top_k=top_k, history=history, mode=mode))
    return ask


def url_asker(url: str, api_key: str | None = None) -> Ask:
    import httpx

    http = httpx.Client(base_url=url.rstrip("/"), timeout=60, headers={"X-API-Key": api_key} if api_key else {})

    def ask(question: str, top_k: int, history: list[str]) -> dict:
        turns = [{"question": q, "answer": None} for q in history]
        response = http.post("/ask", json={"question": question, "top_k": top_k, "history": turns})
        response.raise_for_status()
        return response.json()
    return ask


def run(ask: Ask, items: list[dict], top_k: int = 5, label: dict | None = None, progress: bool = False) -> Report:
    import time

    from tqdm import tqdm

    outcomes = []
    for item in tqdm(items, desc="questions", disable=not progress):
        history = [turn["question"] for turn in item.get("history", [])]
        started = time.perf_counter()
        response = ask(item["question"], top_k, history)
        outcomes.append(judge(item, response, (time.perf_counter() - started) * 1000))
    by_kind = {kind: summarise([o for o in outcomes if o.kind == kind]) for kind in KINDS if any(o.kind == kind for o in outcomes)}
    settings = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "top_k": top_k, **(label or {})}
    return Report(summarise(outcomes), by_kind, outcomes, settings)


def evaluate(engine, items: list[dict], top_k: int = 5, mode: str = "hybrid") -> Report:
    """In-process evaluation of an :class:`~rag.engine.Engine` (``mode``: hybrid, dense or bm25)."""
    return run(engine_asker(engine, mode), items, top_k, {"mode": mode, "index": engine.index.version})
