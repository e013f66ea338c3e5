"""Switch each rule of the answer step off, one at a time, and measure every development set.

One process loads each set's index once. The reader and the question embedder do not depend on the
rules, and the reader is most of a question's cost: both are memoised by their arguments and
pickled per set under /tmp, so a rule costs only the rules' own work. A rule is switched off by
patching its function with a neutral one (here, never in the product's code). Each (set, rule)
summary is appended to ``--out`` as one JSON line as soon as it is measured.

Example: RAG_THREADS=1 nice -n 5 python eval/ablate.py --sets gold,holdout --rules baseline,anchors
Example: python eval/ablate.py --table /tmp/house-ablate.jsonl   # the markdown table of what was measured
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pickle
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
SETS = {  # name: (questions, index folder, corpus)
    "gold": ("eval/questions.jsonl", "/tmp/h-seed"),
    "holdout": ("eval/holdout.jsonl", "/tmp/h-seed"),
    "holdout-b": ("eval/holdout-b.jsonl", "/tmp/h-seed"),
    "holdout-c": ("eval/holdout-c.jsonl", "/tmp/h-seed"),
    "archive-dev": ("../shared/archive-dev/questions.jsonl", "/tmp/h-arch"),
    "cmrc-trial": ("eval/cmrc-trial/questions.jsonl", "/tmp/h-trial"),
}
KEYS = ("answer_accuracy", "abstention_accuracy", "wrongly_abstained", "conflict_coverage", "hit@1")


def _rules() -> dict[str, callable]:
    """Each rule's switch-off: a function returning the patches that make it neutral."""
    import rag.answer as A
    import rag.question as Q
    import rag.scope as S

    p = mock.patch.object
    false = lambda *a, **k: False  # noqa: E731
    rules = {
        "baseline": lambda: [],
        "anchors (names in the passage)": lambda: [p(A.Answerer, "_anchoring", lambda self, q, h: True)],
        "anchor: whole province/city (全省/全市)": lambda: [p(A, "_whole", false)],
        "anchor: neighbour passages": lambda: [p(A.Answerer, "_neighbours", lambda self, hit, reach=2: "")],
        "anchor: relative years resolved": lambda: [p(A, "resolve_relative", lambda text, year: text)],
        "document scope: year+kind/series (scope.py)": lambda: [p(S.Scope, "__call__", lambda self, text: None)],
        "document scope: title named": lambda: [p(A, "titles_named", lambda text, titles: set())],
        "bylines/sign-offs skipped unless asked": lambda: [p(A, "_ASKS_BYLINE", _Always()), p(A, "_ASKS_PUBLISHED", _Always())],
        "sign-off answers when/who published": lambda: [p(A.Answerer, "_signed", lambda self, *a: None)],
        "years: span dated to other years": lambda: [p(A.Answerer, "_of_years", staticmethod(lambda r, y: True))],
        "periods (上半年, 前三季度)": lambda: [p(A, "periods", lambda text: set()), p(A, "period_of", lambda text, start: None)],
        "figure kind target/outcome": lambda: [p(A, "figure_kind_asked", lambda q: None)],
        "posts (person under another post)": lambda: [p(A, "asked_post", lambda q: None)],
        "answer shapes (answer_shapes.tsv)": lambda: [p(A, "answer_shape", lambda q: None)],
        "contact labels (contact_labels.tsv)": lambda: [p(A, "contact_label", lambda q: None)],
        "other subject in a ；-list": lambda: [p(A, "_of_other_subject", false)],
        "follow-up: swapped subject": lambda: [p(A, "_of_swapped_subject", false)],
        "snap spans to whole figures/dates": lambda: [p(A, "snap", lambda text, span: span)],
        "分别 lists (respective)": lambda: [p(A, "respective", lambda text, span, asked: span)],
        "哪三大 lists (complete_list)": lambda: [p(A, "complete_list", lambda text, span, items: span)],
        "cut to the asked form (_to_form)": lambda: [p(A, "_to_form", lambda text, span, shape, beside=3: span)],
        "reread relevant sentences": lambda: [p(A.Answerer, "_reread", lambda self, r, q, a, s, rel: None)],
        "reshape to the asked form": lambda: [p(A.Answerer, "_reshape", lambda self, r, q, a, s: None)],
        "next spans tried (SPANS_TRIED=1)": lambda: [p(A, "SPANS_TRIED", 1)],
        "English: two askings": lambda: [p(A, "reader_questions", _one_asking(A.reader_questions))],
        "English: two content terms": lambda: [p(A.Answerer, "_answerable_shape", staticmethod(lambda q: True))],
        "conflicts (all)": lambda: [p(A.Answerer, "_conflict", lambda self, q, r: []), p(A.Answerer, "_holders", lambda self, q, r: [])],
        "conflict: second sources": lambda: [p(A.Answerer, "_second_sources", lambda self, q, r, most=2: [])],
        "conflict: post holders": lambda: [p(A.Answerer, "_holders", lambda self, q, r: [])],
        "conflict: another place's figure": lambda: [p(A.Answerer, "_of_another_place", lambda self, r, a: False)],
        "conflict: unit of the figure asked": lambda: [p(A.Answerer, "_figure_asked", staticmethod(lambda r: None))],
        "conflict: within 1.5×": lambda: [p(A.Answerer, "_same_fact", staticmethod(lambda a, b: True))],
        "series/timeline": lambda: [p(A.Answerer, "_series", lambda self, *a: [])],
        "synonyms.tsv": lambda: [p(Q, "SYNONYMS", {})],
        "verb objects (发邮件→邮件)": lambda: [p(Q.QuestionReader, "_object", lambda self, w: [])],
        "session counts anchored (十一届七次)": lambda: [p(Q, "_COUNT", _Never())],
    }
    return rules


class _Always:
    """A pattern that finds something in every text."""

    def search(self, text):
        return True


class _Never:
    def fullmatch(self, text):
        return None

    search = fullmatch


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


def measure(sets: list[str], rules: list[str], limit: dict[str, int], out: Path) -> None:
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
        cache_path = Path(f"/tmp/house-cache-{name}.pkl")
        cache = pickle.loads(cache_path.read_bytes()) if cache_path.exists() else {"reader": {}, "queries": {}}
        engine = Engine(settings.model_copy(update={"index_dir": Path(index_dir)}), embedder=CachedEmbedder(embedder, cache["queries"]),
                        reader=CachedReader(reader, cache["reader"]))
        items = gold.load_questions(ROOT / questions)[:limit.get(name)]
        for rule in rules:
            started = time.time()
            with contextlib.ExitStack() as stack:
                for patch in table[rule]():
                    stack.enter_context(patch)
                report = gold.run(gold.engine_asker(engine), items, 5, {"set": name})
            row = {"set": name, "rule": rule, "questions": len(items), **{k: report.summary[k] for k in KEYS},
                   "failed": sorted(o.id for o in report.outcomes if o.failed), "seconds": round(time.time() - started, 1)}
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(name, rule, {k: row[k] for k in KEYS}, row["seconds"], "s", file=sys.stderr, flush=True)
            cache_path.write_bytes(pickle.dumps(cache))


def table(out: Path) -> str:
    """Rule → change against its set's baseline: answer accuracy / abstention on unanswerable / wrongly declined."""
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    base = {r["set"]: r for r in rows if r["rule"] == "baseline"}
    sets = list(dict.fromkeys(r["set"] for r in rows))
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    last = {(r["set"], r["rule"]): r for r in rows}

    def cell(s: str, rule: str) -> str:
        row, b = last.get((s, rule)), base.get(s)
        if row is None or b is None:
            return "–"
        if rule == "baseline":
            return " / ".join("–" if row[k] is None else f"{row[k]:.3f}" for k in KEYS[:3])
        deltas = ["·" if row[k] == b[k] else f"{row[k] - b[k]:+.3f}" for k in KEYS[:3] if row[k] is not None]
        return " / ".join(deltas) if any(d != "·" for d in deltas) else "="

    lines = ["| rule | " + " | ".join(f"{s} ({base[s]['questions'] if s in base else '?'})" for s in sets) + " |",
             "|---" * (len(sets) + 1) + "|"]
    lines += [f"| {rule} | " + " | ".join(cell(s, rule) for s in sets) + " |" for rule in rules]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--rules", default="all", help="comma-separated rule names, or all")
    parser.add_argument("--limit", default="", help="first N questions of a set: cmrc-trial=300")
    parser.add_argument("--out", type=Path, default=Path("/tmp/house-ablate.jsonl"))
    parser.add_argument("--table", type=Path, help="print the table of a results file and stop")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    names = list(_rules()) if args.rules == "all" else args.rules.split(",")
    limit = {k: int(v) for k, v in (part.split("=") for part in args.limit.split(",") if part)}
    measure(args.sets.split(","), names, limit, args.out)


if __name__ == "__main__":
    main()
