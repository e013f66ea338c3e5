"""Switch each rule of the answer step off, one at a time, and measure every development set.

One process loads each set's index once. The reader and the question embedder do not depend on the
rules, and the reader is most of a question's cost: both are memoised by their arguments and
pickled per set (``--cache``), so a rule costs only the rules' own work. A rule is switched off by
patching its function with a neutral one (here, never in the product's code). Each (set, rule)
summary is appended to ``--out`` as one JSON line as soon as it is measured.

Example: RAG_THREADS=1 nice -n 5 python eval/ablate.py --sets gold,holdout --rules baseline,anchors
Example: python eval/ablate.py --table /tmp/ablate.jsonl   # the markdown table of what was measured
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
SETS = {  # name: (questions, index folder); build each with `rag index CORPUS --index-dir FOLDER`
    "gold": ("eval/questions.jsonl", "/tmp/h-seed"),
    "holdout": ("eval/holdout.jsonl", "/tmp/h-seed"),
    "holdout-b": ("eval/holdout-b.jsonl", "/tmp/h-seed"),
    "holdout-c": ("eval/holdout-c.jsonl", "/tmp/h-seed"),
    "archive-dev": ("../shared/archive-dev/questions.jsonl", "/tmp/h-arch"),
    "cmrc-trial": ("eval/cmrc-trial/questions.jsonl", "/tmp/h-trial"),
}
KEYS = ("answer_accuracy", "abstention_accuracy", "wrongly_abstained", "conflict_coverage", "hit@1", "em", "f1")


def _rules() -> dict[str, Callable]:
    """Each rule's switch-off: a function of the engine returning the patches that make the rule neutral.
    The rules removed on 2026-12-06 (eval/README.md) are measured by this script at commit 8fb8d69."""
    import re

    from rag import question as Q, scope as S, timeline as T
    from rag.answer import conflicts as C, dates as D, forms as F, pipeline as P, readings as R
    from rag.answer import names as N
    from rag.answer.names import Anchors
    from rag.answer.pipeline import Answerer

    p = mock.patch.object
    return {
        "baseline": lambda e: [],
        "anchors (names in the passage)": lambda e: [p(Anchors, "holds", lambda self, q, h: True)],
        "anchor: common names not insisted on (ANCHOR_SHARE)": lambda e: [p(e._state.answerer.anchors, "anchor_idf", 0.0)],
        "anchor: names in titles insisted on": lambda e: [p(e._state.answerer.anchors, "titles", set())],
        "anchor: neighbour passages": lambda e: [p(Anchors, "_neighbours", lambda self, hit, reach=2: "")],
        "document scope: year+kind/series (scope.py)": lambda e: [p(S.Scope, "__call__", lambda self, text: None)],
        "document scope: title named": lambda e: [p(P, "titles_named", lambda text, titles: set())],
        "years: span dated to other years": lambda e: [p(P, "of_years", lambda *a: True)],
        "figure kind target/outcome": lambda e: [p(R, "figure_kind_asked", lambda q: None)],
        "answer shapes (answer_shapes.tsv)": lambda e: [p(R, "answer_shape", lambda q: None)],
        "follow-up: swapped subject": lambda e: [p(P, "of_swapped_subject", lambda *a: False)],
        "snap spans to whole figures/dates": lambda e: [p(m, "snap", lambda text, span: span) for m in (P, F)],
        "cut to the asked form (_to_form)": lambda e: [p(P, "to_form", lambda text, span, shape, beside=3: span)],
        "next spans tried (SPANS_TRIED=1)": lambda e: [p(P, "SPANS_TRIED", 1)],
        "English: two askings": lambda e: [p(P, "reader_questions", _one_asking(R.reader_questions))],
        "English question words (question_words_en.tsv)": lambda e: [p(R, "QUESTION_WORDS", [])],
        "English glossary (glossary_en.tsv)": lambda e: [p(e._state.reader.expander, "glossary", {})],
        "conflicts (all)": lambda e: [p(Answerer, "_conflict", lambda self, q, r: [])],
        "conflict: a target asked compares targets only": lambda e: [p(C, "planned", lambda text: False)],
        "conflict: unit of the figure asked": lambda e: [p(Answerer, "_figure_asked", staticmethod(lambda r: None))],
        "series/timeline": lambda e: [p(Answerer, "_series", lambda self, *a: [])],
        # 2026-12-07 (2)
        "a change is no level (difference)": lambda e: [p(m, "difference", lambda text, start: False) for m in (P, F, C)],
        "one measure at any magnitude": lambda e: [p(F, "measure", lambda unit: unit)],
        "series: a document's next passage (PASSAGES=1)": lambda e: [p(T, "PASSAGES", 1)],
        "series: the reader's next span stating the figure": lambda e: [p(C, "SPANS_TRIED", 0)],
        "series: one issuer's documents": lambda e: [p(C, "_series_of", lambda r: "")],
        "series: a clause's surest figure": lambda e: [p(T, "_surest_figure", lambda r, units: None)],
        "series: a plan of its title's year": lambda e: [p(T, "titled_year", lambda title: set())],
        "years: a year compared against (比去年)": lambda e: [p(D, "_FIGURE_YEAR", re.compile(r"((?:19|20)\d{2})年"))],
        "kind: lead words (not any earlier target word)": lambda e: [p(D, "_DONE_LEAD", re.compile("(?!)"))],
        "kind: 任务 asks a target": lambda e: [p(D, "_ASKS_TARGET", re.compile(D._ASKS_TARGET.pattern.replace("任务|", "")))],
        "follow-up: 下一年/上一年": lambda e: [p(Q, "_SHIFTED_YEAR", re.compile("(?!)"))],
        "years: an outcome of the last year over (reviewed_year)": lambda e: [p(m, "reviewed_year", lambda title, date: None) for m in (P, N)],
        "read on when all read are of other times": lambda e: [p(Answerer, "_of_other_times", lambda self, readings: False)],
        "asked a change: the change beside a level": lambda e: [p(P, "change_beside", lambda text, span, shape: None)],
        "a figure per head is no total (人均)": lambda e: [p(P, "per_head", lambda text, start=None: False)],
        "shapes: totals in money and lengths": lambda e: [p(R, "answer_shape", _without_rows(R.answer_shape, ("生产总值", "里程")))],
        "question word's noun is no name (什么荣誉)": lambda e: [p(Q, "_ASKS_FOR", set())],
        "figures by the subject their clause names": lambda e: [p(P, "by_subject", lambda text, spans, words, change=False: spans)],
        "a figure's span cut at its clause": lambda e: [p(P, "clause_named", lambda text, span, words: span)],
        "shapes: a growth target is a rate": lambda e: [p(R, "answer_shape", _without_alternative(R.answer_shape, "增长(?:的)?(?:预期)?目标(?:是|为|定为)?(?:多少|几)|"))],
        # 2026-12-07 (4)
        "kind: a section headed by an earlier year reviews it": lambda e: [p(m, "section_kind", lambda heading, year: None) for m in (D, C)],
        "series: a period from its section heading's year": lambda e: [p(T, "heading_year", lambda heading: None)],
        "years: a named report's year is the report's": lambda e: [p(P, "title_year", lambda title: None)],
        "a measure with one modifier swapped is another": lambda e: [p(P, "other_measure", lambda text, at, measures: False)],
    }


def _without_rows(original, marks: tuple[str, ...]):
    """``answer_shape`` as if the shape rows whose question pattern names one of ``marks`` were not there."""
    from rag.answer import forms as F

    kept = [(pattern, shape) for pattern, shape in F.ANSWER_SHAPES if not any(m in pattern.pattern for m in marks)]

    def shape(question):
        with mock.patch.object(F, "ANSWER_SHAPES", kept):
            return original(question)
    return shape


def _without_alternative(original, alternative: str):
    """``answer_shape`` as if ``alternative`` were cut from the question patterns that hold it."""
    import re

    from rag.answer import forms as F

    kept = [(re.compile(pattern.pattern.replace(alternative, "")), shape) for pattern, shape in F.ANSWER_SHAPES]

    def shape(question):
        with mock.patch.object(F, "ANSWER_SHAPES", kept):
            return original(question)
    return shape


def _one_asking(original):
    return lambda question: original(question)[:1]


class Memo:
    """A callable's results by its arguments, kept in ``store``."""

    def __init__(self, function, store: dict) -> None:
        self.function, self.store, self.calls = function, store, 0

    def __call__(self, *args, **kwargs):
        key = (tuple(tuple(a) if isinstance(a, list) else a for a in args), tuple(sorted(kwargs.items())))
        if key not in self.store:
            self.calls += 1
            self.store[key] = self.function(*args, **kwargs)
        return list(self.store[key])


class CachedReader:
    def __init__(self, reader, store: dict) -> None:
        self._reader, self.read = reader, Memo(reader.read, store)

    def __getattr__(self, name):
        return getattr(self._reader, name)


class CachedEmbedder:
    def __init__(self, embedder, store: dict) -> None:
        self._embedder, self._one = embedder, Memo(lambda text: [embedder.queries([text])[0]], store)

    def queries(self, texts):
        import numpy as np

        return np.stack([self._one(text)[0] for text in texts]) if texts else self._embedder.queries(texts)

    def __getattr__(self, name):
        return getattr(self._embedder, name)


def measure(sets: list[str], rules: list[str], limit: dict[str, int], out: Path, cache: Path) -> None:
    from rag import eval as gold
    from rag.config import get_settings
    from rag.embedding import Embedder
    from rag.engine import Engine
    from rag.reader.build import ensure_reader
    from rag.reader.reader import Reader

    settings = get_settings()
    reader = Reader(ensure_reader(settings.home), threads=settings.threads, windows_per_passage=settings.reader_windows,
                    runtime=settings.runtime, max_windows=settings.batch_windows, workers=settings.workers, home=settings.home)
    embedder = Embedder(settings, progress=False)
    table = _rules()
    for name in sets:
        questions, index_dir = SETS[name]
        cache_path = cache / f"{name}.pkl"
        memo = pickle.loads(cache_path.read_bytes()) if cache_path.exists() else {"reader": {}, "queries": {}}
        engine = Engine(settings.model_copy(update={"index_dir": Path(index_dir)}), embedder=CachedEmbedder(embedder, memo["queries"]),
                        reader=CachedReader(reader, memo["reader"]))
        items = gold.load_questions(ROOT / questions)[:limit.get(name)]
        for rule in rules:
            started = time.time()
            with contextlib.ExitStack() as stack:
                for patch in table[rule](engine):
                    stack.enter_context(patch)
                report = gold.run(gold.engine_asker(engine), items, 5, {"set": name})
            row = {"set": name, "rule": rule, "questions": len(items), **{k: report.summary[k] for k in KEYS},
                   "failed": sorted(o.id for o in report.outcomes if o.failed), "seconds": round(time.time() - started, 1)}
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(name, rule, {k: row[k] for k in KEYS}, row["seconds"], "s", file=sys.stderr, flush=True)
            cache_path.with_suffix(".tmp").write_bytes(pickle.dumps(memo))
            cache_path.with_suffix(".tmp").replace(cache_path)  # whole or not at all: another run may read it


def table(out: Path) -> str:
    """Rule → change against its set's baseline: answer accuracy / abstention on unanswerable / wrongly declined
    (conflicts covered and the value's F1 in brackets when they change)."""
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    base: dict[str, dict] = {}
    for r in rows:  # each set's first baseline: what the rules measured after it are compared with
        if r["rule"] == "baseline":
            base.setdefault(r["set"], r)
    sets = [s for s in SETS if any(r["set"] == s for r in rows)]
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    last = {(r["set"], r["rule"]): r for r in rows}

    def cell(s: str, rule: str) -> str:
        row, b = (base.get(s) if rule == "baseline" else last.get((s, rule))), base.get(s)
        if row is None or b is None:
            return "–"
        if rule == "baseline":
            return " / ".join("–" if row[k] is None else f"{row[k]:.3f}" for k in KEYS[:3]) + (f" (F1 {row['f1']:.3f})" if row.get("f1") is not None else "")
        deltas = ["–" if row[k] is None else "·" if row[k] == b[k] else f"{row[k] - b[k]:+.3f}" for k in KEYS[:3]]
        extra = [f"{name} {row[k] - b[k]:+.3f}" for k, name in (("conflict_coverage", "conflicts"), ("f1", "F1"))
                 if row.get(k) is not None and b.get(k) is not None and abs(row[k] - b[k]) >= 0.001]
        changed = any(d not in "·–" for d in deltas) or extra
        return (" / ".join(deltas) + (f" ({', '.join(extra)})" if extra else "")) if changed else "="

    lines = ["| rule | " + " | ".join(f"{s} ({base[s]['questions'] if s in base else '?'})" for s in sets) + " |",
             "|---" * (len(sets) + 1) + "|"]
    lines += [f"| {rule} | " + " | ".join(cell(s, rule) for s in sets) + " |" for rule in rules]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--rules", default="all", help="comma-separated rule names, or all")
    parser.add_argument("--limit", default="", help="first N questions of a set: cmrc-trial=300")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ablate.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ablate-cache"), help="folder of the memo files, one per set")
    parser.add_argument("--table", type=Path, help="print the table of a results file and stop")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    names = list(_rules()) if args.rules == "all" else args.rules.split(",")
    limit = {k: int(v) for k, v in (part.split("=") for part in args.limit.split(",") if part)}
    args.cache.mkdir(parents=True, exist_ok=True)
    measure(args.sets.split(","), names, limit, args.out, args.cache)


if __name__ == "__main__":
    main()
