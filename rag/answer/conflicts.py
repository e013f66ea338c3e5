"""Conflicts and timelines: one fact printed with different values, or one figure across periods.

General rule: figures compare only as one fact reported twice when each comes from a dated passage
that would answer on its own, in the same measure (亿元 and 万亿元 are both 元), of the same years and
place; the answer then lists every value with its date, newest first. A figure asked of no year that
several dated documents state for different periods is a series (:mod:`rag.timeline`). Example: a 2023 notice's
项目总投资120亿元 and a 2024 one's 总投资135亿元 are a conflict; 亩 against 亿元, or another district's
figure, is not; 赤字率 asked of no year in five yearly reports is a timeline.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .. import timeline
from ..question import Question
from ..scope import Document
from ..search import Hit
from .dates import figure_kind_asked, kind_in, planned, section_kind, years_said
from .forms import difference, figure_in, figure_units, unit_of, value_key
from .readings import SPANS_TRIED, Reading
from .sentences import full_sentence


class Comparisons:
    """The :class:`~rag.answer.Answerer`'s comparisons of readings across documents."""

    def _series(self, question: Question, readings: list[Reading], deeper: list[Hit],
                named: frozenset[str] | None) -> list[timeline.Entry]:
        """Asked of no year, a figure stated by several dated documents: its values per document. A
        document whose passages read state no such figure has its next passage read, up to
        :data:`timeline.PASSAGES` in all (a report's review paragraph found first, its plan read next),
        in focused windows (:data:`~rag.answer.readings.FOCUSED_TOKENS`, unless every passage is read in full)."""
        best = readings[0]
        if question.years or not best.hit.chunk.date or not re.search(r"\d", best.value or ""):
            return []
        asked = self.anchors.places_asked(question)
        words = [w for g in question.groups if not g.anchor for w in g.words]
        begin, end = full_sentence(best.hit.chunk.text, best.span.start, best.span.end)
        subject = timeline.subject_word(words, best.hit.chunk.text[begin:end], self.idf)
        units, kind = self._units_compared(best), figure_kind_asked(question.read_as)

        def states(r: Reading) -> bool:
            return (r.eligible and r.score >= self.weights.threshold and bool(r.hit.chunk.date)
                    and (r is best or not self._of_another_place(r, asked))
                    and timeline.stated(r, units, subject) is not None)

        def of_kind(r: Reading) -> bool:  # asked for a target, a document's review figure leaves its plan to be read
            return kind is None or kind_in(r.hit.chunk, r.span.start + timeline.stated(r, units, subject)[0]) == kind

        def restated(r: Reading) -> Reading:
            """A passage whose span is another figure (财政赤字2.38万亿元 for 赤字率), read at the reader's next
            span that states the figure asked (今年赤字率拟按3%安排), as a copy: the answer's own reading stays."""
            if r.span is None or timeline.stated(r, units, subject) is not None:
                return r
            for span in r.alternatives[:SPANS_TRIED]:
                other = replace(r, span=span)
                where = timeline.stated(other, units, subject)
                if where is not None and not difference(r.hit.chunk.text, span.start + where[0]):
                    return other
            return r

        pool = [restated(r) for r in readings if r.span is not None]
        waiting: dict[str, list[Hit]] = {}  # each dated document's passages not read yet, in retrieval order
        for hit in [r.hit for r in readings if r.span is None] + deeper:
            # Asked for a target, a section reviewing a year before (一、2015年工作回顾) holds none.
            if hit.chunk.date and not (kind == "target" and section_kind(hit.chunk.heading, hit.chunk.year)):
                waiting.setdefault(hit.chunk.doc_id, []).append(hit)
        for _ in range(timeline.PASSAGES):
            found = {r.hit.chunk.doc_id for r in pool if states(r) and of_kind(r)}
            batch = [hits.pop(0) for doc, hits in waiting.items() if doc not in found and hits][:timeline.DOCUMENTS]
            if not batch:
                break
            pool += [restated(r) for r in self.read(question, batch, named, len(batch), tokens=self.focused)]
        # A timeline is of one series of documents (国务院政府工作报告, not every issuer's yearly report): the one
        # with the most documents stating the figure, the best reading's among equals.
        issuers: dict[str, list[Reading]] = {}
        for r in pool:
            if states(r):
                issuers.setdefault(_series_of(r), []).append(r)
        if not issuers:
            return []
        told = max(issuers.values(), key=lambda rs: (len({r.hit.chunk.doc_id for r in rs}), any(r.hit is best.hit for r in rs)))
        return timeline.series(told, units, subject, kind)

    def _conflict(self, question: Question, readings: list[Reading]) -> list[dict]:
        """Different figures for one fact from different articles, newest first. Names are not compared:
        the reader does not tell a 主任 from a 副主任, and a false conflict misleads more than a missed one."""
        best = readings[0]
        if not re.search(r"\d|[一二三四五六七八九十]", best.value or ""):
            return []
        asked = self.anchors.places_asked(question)
        plan = planned(question.read_as) or (question.english and any(planned(w) for g in question.groups for w in g.words))
        for unit in self._units_compared(best):
            if conflict := self._conflict_in(readings, unit, asked, frozenset(question.years), plan):
                return conflict
        return []

    def _conflict_in(self, readings: list[Reading], unit: str, asked: set[str] | None, asked_years: frozenset[int] = frozenset(), plan: bool = False) -> list[dict]:
        own = figure_in(readings[0].value, unit)
        if own is None:
            return []
        best = readings[0].value[slice(*own)]
        best_years = _years(readings[0])
        by_doc: dict[str, tuple[Reading, tuple[int, int]]] = {}  # each article's surest reading, and where its figure is
        for reading in readings:
            if not reading.eligible or reading.score < self.weights.threshold or not reading.hit.chunk.date:
                continue  # undated passages (an encyclopedia) are not reports of one fact at different times
            years = _years(reading)
            if asked_years and not years and reading.hit.chunk.year not in asked_years:
                continue  # asked of 2024, a 2023 article's 同比增长35.47% naming no year is 2023's
            if best_years and years and not best_years & years:
                continue  # 截至2023年底980人 and 截至2022年底850人: two years' figures, not one fact reported twice
            if reading is not readings[0] and self._of_another_place(reading, asked):
                continue  # a district's figure beside the city's: two places' figures
            text, start = reading.hit.chunk.text, reading.span.start
            if plan and reading is not readings[0] and not planned(text[full_sentence(text, start)[0]:start]):
                continue  # asked for a target (力争…保持在30%以上), an outcome (同比增长35.47%) is not another report of it
            where = figure_in(reading.value, unit)
            if where is None:
                continue
            doc = reading.hit.chunk.doc_id
            if doc not in by_doc or reading.score > by_doc[doc][0].score:
                by_doc[doc] = (reading, where)
        if len({value_key(r.value[slice(*where)]) for r, where in by_doc.values()}) < 2:
            return []
        chosen = sorted(by_doc.values(), key=lambda rw: rw[0].hit.chunk.date, reverse=True)
        for reading, (start, end) in chosen:  # a clause read whole is narrowed to its figure: the value compared and marked
            span = reading.span
            reading.span = replace(span, start=span.start + start, end=span.start + end, text=span.text[start:end])
        return [r.reported() for r, _ in chosen]

    def _units_compared(self, best: Reading) -> list[str]:
        """The answer's own unit (亿元 for 1100亿元), then, for a clause read whole, the unit of the figure asked about."""
        asked = self._figure_asked(best)
        return [unit_of(best.value), *([asked] if asked else [])]

    @staticmethod
    def _figure_asked(reading: Reading) -> str | None:
        """The unit of the figure asked about in a clause read whole (增速保持在30%以上,2024年突破1100亿元):
        that of the figure the reader itself scores highest as a span of its own; None when it proposed
        none of the clause's figures alone."""
        span, units = reading.span, set(figure_units(reading.value))
        alone = [s for s in reading.alternatives if span.start <= s.start and s.end <= span.end and unit_of(s.text) in units]
        return unit_of(max(alone, key=lambda s: s.score).text) if alone else None

    def _of_another_place(self, reading: Reading, asked: set[str] | None) -> bool:
        return self.anchors.of_another_place(reading.hit.chunk.text, reading.sentence, asked)


def _series_of(reading: Reading) -> str:
    """The series of yearly documents a reading's document belongs to (国务院政府工作报告 of 2016年国务院政府工作报告); empty
    for a title that does not open with its year."""
    chunk = reading.hit.chunk
    return Document(chunk.doc_id, chunk.title, chunk.year).series


def _years(reading: Reading) -> set[int]:
    return years_said(reading.hit.chunk.text, reading.span.start, reading.span.end, reading.hit.chunk.year)
