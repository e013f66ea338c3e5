"""A figure across dated documents: the series a question that names no period asks for.

An archive restates one kind of figure in every year's document with another value (a deficit
ratio: 2.1% in 2014, 2.3% in 2015, 3% in 2016 …). Asked without a year (赤字率是多少), the answer is
that series, newest first, each value with its period and the document that states it: read per
document (the best passage of each dated document found, and its next when that one states no such
figure or, asked for a target, only an outcome), not only the top passages. Values of
one period that differ are a conflict (two reports disagree), which ``rag.answer`` compares; a
series needs at least two periods its texts state (今年, 2016年): two notices that give a target
without a year are a revision, a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .answer.dates import heading_year, kind_in, title_year, years_said
from .answer.forms import figure_in
from .answer.sentences import full_sentence

DOCUMENTS = 8  # dated documents read at a time for a series beyond the passages already read
PASSAGES = 2  # rounds of reading: a document's next passage is read while none read states the figure
HITS = 30  # retrieved passages searched for each document's best one


@dataclass
class Entry:
    """One value of the series: where it is printed, the period it is about, target or outcome."""

    reading: object  # rag.answer.Reading, its span narrowed to the figure
    period: str  # 2016年, or the document's date when its sentence names no year
    kind: str | None  # target | outcome | None (nothing says)

    def public(self) -> dict:
        chunk = self.reading.hit.chunk
        return {"value": self.reading.value, "period": self.period, "kind": self.kind, "date": chunk.date,
                "doc_id": chunk.doc_id, "title": chunk.title, "paragraph": chunk.paragraph}


def subject_word(question_words: list[str], text: str, idf: dict[str, float]) -> str | None:
    """The question's rarest word printed in ``text`` (赤字率 in 赤字率从去年的2.1%提高到2.3%): what is measured."""
    printed = [w for w in question_words if len(w) >= 2 and w in text]
    return max(printed, key=lambda w: idf.get(w, 0.0)) if printed else None


def titled_year(title: str) -> set[int]:
    """The year of a yearly document, which its title opens with (2017年国务院政府工作报告): what a plan
    it states without naming a year is about (要完成中央预算内投资5076亿元); its review's figures are not."""
    year = title_year(title)
    return {year} if year else set()


def stated(reading, units: list[str], subject: str | None) -> tuple[int, int] | None:
    """Where in the reading's value its figure in one of ``units`` is, when its sentence names ``subject``
    (not another figure of the same unit: 增长6.5% beside 赤字率3%); None otherwise."""
    where = next((w for unit in units if (w := figure_in(reading.value, unit)) is not None), None)
    where = where or _surest_figure(reading, units)
    if where is None:
        return None
    text, span = reading.hit.chunk.text, reading.span
    begin, end = full_sentence(text, span.start, span.end)
    return where if not subject or subject in text[begin:end] else None


def _surest_figure(reading, units: list[str]) -> tuple[int, int] | None:
    """In a clause read whole that states several figures of the measure (拟安排财政赤字1.62万亿元，…其中，中央
    财政赤字1.12万亿元), the one the reader itself scores highest as a span of its own, where in the value."""
    span, found = reading.span, []
    for other in reading.alternatives:
        if span.start <= other.start and other.end <= span.end:
            where = next((w for unit in units if (w := figure_in(other.text, unit)) is not None), None)
            if where is not None:
                found.append((other.score, other.start - span.start + where[0], other.start - span.start + where[1]))
    return max(found)[1:] if found else None


def series(readings: list, units: list[str], subject: str | None, kind: str | None = None) -> list[Entry]:
    """Each dated document's surest reading stating a figure in one of ``units`` in a sentence that names
    ``subject`` (of the ``kind`` asked, target or outcome, where a document states both), newest first;
    empty unless they cover two periods or more, each with one value."""
    by_doc: dict[str, tuple[object, tuple[int, int]]] = {}
    rank = lambda r, w: (kind is not None and kind_in(r.hit.chunk, r.span.start + w[0]) == kind, r.score)  # noqa: E731
    for reading in readings:
        if (where := stated(reading, units, subject)) is None:
            continue
        doc = reading.hit.chunk.doc_id
        if doc not in by_doc or rank(reading, where) > rank(*by_doc[doc]):
            by_doc[doc] = (reading, where)
    chosen = sorted(by_doc.values(), key=lambda rw: rw[0].hit.chunk.date, reverse=True)
    entries, values, periods = [], {}, set()
    for reading, (start, end) in chosen:
        chunk, span = reading.hit.chunk, reading.span
        own = kind_in(chunk, span.start + start)
        sectioned = heading_year(chunk.heading)  # 一、2015年工作回顾: what its passages are about
        years = (years_said(chunk.text, span.start + start, span.start + end, chunk.year) or ({sectioned} if sectioned else set())
                 or (titled_year(chunk.title) if own != "outcome" else set()))
        period = "、".join(f"{y}年" for y in sorted(years)) if years else chunk.date
        periods |= {period} if years else set()
        if values.setdefault(period, reading.value[start:end]) != reading.value[start:end]:
            return []  # one period, two values: a conflict, not a series
        entries.append(Entry(reading, period, own))
    if len(entries) < 2 or len(periods) < 2:
        return []  # a series is of periods the texts state: two notices' 目标为30万辆 and 38万辆 are a revision
    for reading, (start, end) in chosen:  # a clause read whole is narrowed to its figure: the value listed and marked
        span = reading.span
        reading.span = replace(span, start=span.start + start, end=span.start + end, text=span.text[start:end])
    return entries


def summary(entries: list[Entry]) -> str:
    """按日期从新到旧：2018年 2.6%（2018-03-05《…》）；…"""
    kinds = {"target": "目标", "outcome": "实际"}
    parts = [f"{e.period} {e.reading.value}{'·' + kinds[e.kind] if e.kind else ''}"
             f"（{e.reading.hit.chunk.date}《{e.reading.hit.chunk.title}》）" for e in entries]
    return "各文档所载数值，按日期从新到旧：" + "；".join(parts) + "。"
