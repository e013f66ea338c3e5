"""The answer step: read the top passages, choose the surest fitting span, compare, or decline.

1. read: the reader proposes spans for each top passage: the first few, then the rest of the read
   depth, in focused windows when the first answer and the rest are of their documents (nothing of
   another document is left to compare; a window costs by its length); a passage whose names are not the
   question's does not answer (:mod:`.names`), and a span of other years, a target for an outcome,
   another form than asked or a change where a level is asked (比去年多100万人 for 新增就业目标) gives
   way to the reader's next (:mod:`.dates`, :mod:`.forms`);
2. choose: passages by answer score;
3. a series across dated documents or a conflict between them (:mod:`.conflicts`);
4. not found under the fitted threshold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace

from .. import timeline
from ..chunking import Chunk
from ..question import Question
from ..reader.features import AGREEMENT_CANDIDATES, Span
from ..scope import titles_named
from ..search import Hit
from .conflicts import Comparisons
from .dates import kind_in, of_years, reviewed_year, title_year
from .forms import QUANTITY, change_beside, difference, per_head, snap, to_form, value_key, without_per_head
from .lists import complete_list, respective
from .names import Anchors, of_swapped_subject, other_measure
from .readings import FOCUSED_TOKENS, SPANS_TRIED, Answer, AnswerWeights, Asks, Reading, reader_questions, said
from .sentences import clause_bounds


CLAUSE = re.compile(r"[，。；;！？!?]|,(?!\d)")  # not the comma of 2,173
_BREAKDOWN = re.compile(r"[，,]\s*(?:其中|包括|含)")  # 共计15人，其中运动员9人: the parts belong with their total


class Answerer(Comparisons):
    """Callable: (question, hits) → :class:`Answer`."""

    def __init__(self, reader, idf: dict[str, float], chunks: list[Chunk] | None = None,
                 weights: AnswerWeights | None = None, read_depth: int = 4, depth: int = 10,
                 places: Callable[[str], set[str]] | None = None, read_first: int | None = None) -> None:
        """``places``: the places a text names (:meth:`QuestionReader.places`), to tell whose figure a sentence gives.
        ``read_first``: passages read before the rest of ``read_depth``, which are read in focused windows
        when these settle the question (:meth:`_settled`), as are a series' further documents; None: all
        ``read_depth`` at once, every passage in full."""
        self.reader, self.idf = reader, idf
        self.chunks = chunks or []  # the index's passages in article order: neighbours share a subject
        self.anchors = Anchors(self.chunks, idf, places)
        self.weights = weights or AnswerWeights.load()
        self.read_depth, self.depth = read_depth, depth
        self.read_first = min(read_first or read_depth, read_depth)

    def read(self, question: Question, hits: list[Hit], named: frozenset[str] | None = None,
             depth: int | None = None, skip: int = 0, tokens: int | None = None) -> list[Reading]:
        """Readings of the passages after the first ``skip`` (read already), the next ``depth`` of them read
        (the read depth by default). ``named``: the documents the question names (:class:`rag.scope.Scope`);
        a passage of another does not answer. ``tokens``: how much of each passage a reader window holds
        (the part sharing most with the question; None: the reader's own)."""
        read = list(range(skip, min(len(hits), skip + (depth or self.read_depth))))
        texts = [hits[number].chunk.text for number in read]
        proposed: dict[int, list[Span]] = {}  # each passage's spans, best first, from the asking surest of it
        for asked in reader_questions(question) if read else []:
            by_passage: dict[int, list[Span]] = {}
            for span in self.reader.read(asked, texts, top=AGREEMENT_CANDIDATES, passage_tokens=tokens):
                by_passage.setdefault(read[span.passage], []).append(span)
            for number, own in by_passage.items():
                if number not in proposed or _surest(own[:SPANS_TRIED]) > _surest(proposed[number][:SPANS_TRIED]):
                    proposed[number] = own
        asks = Asks.of(question)  # what the question asks for, once
        asked = {word for group in question.groups for word in group.words}

        def shaped(text: str, span: Span) -> Span:
            span = complete_list(text, respective(text, snap(text, span), asked), asks.items)
            span = clause_named(text, span, asked) if asks.figure and asks.items is None else span
            return to_form(text, span if asks.per_head else without_per_head(text, span), asks.shape)  # a total's span drops a figure per head

        readings, titled = [], titles_named(question.text, {hit.chunk.title for hit in hits})
        for number, hit in enumerate(hits[skip:], start=skip):
            held = (not titled or hit.chunk.title in titled) and (named is None or hit.chunk.doc_id in named)
            reading = Reading(hit, anchored=held and self.anchors.holds(question, hit))
            if held and not reading.anchored and question.years and self.anchors.holds(question, hit, looking_back=True):
                reading.anchored = reading.looking_back = True  # the year asked is the one it looks back on: only its outcomes answer
            # The passage's best span, or, when it is of other years or another form than asked, the
            # reader's next best that is not (2023's figure, not this year's, from one paragraph).
            reading.alternatives = proposed.get(number, [])
            choices = [shaped(hit.chunk.text, span) for span in reading.alternatives[:SPANS_TRIED]]
            if asks.change and choices and (beside := change_beside(hit.chunk.text, choices[0], asks.shape)):
                choices.insert(1, beside)
            if asks.figure:
                choices = by_subject(hit.chunk.text, choices, asked, asks.change)
            for span in choices:
                self._take(reading, span, question, asks, named)
                if not reading.mismatched:
                    break
            else:
                if choices:
                    self._take(reading, choices[0], question, asks, named)
            readings.append(reading)
        return readings

    def _take(self, reading: Reading, span: Span, question: Question, asks: Asks, named: frozenset[str] | None = None) -> None:
        """Read ``span`` as the passage's answer and check it against what the question asks. Where the
        question names a document (``named``), the year of its title is the document's, not the figure's,
        unless the question says it again (当年, 全年): 2016年政府工作报告提出，“十三五”时期…保持在6.5%以上 is of
        2016-2020; 2018年政府工作报告回顾过去五年 is answered by that report's review of the years before."""
        chunk = reading.hit.chunk
        text, year = chunk.text, chunk.year
        stated = QUANTITY.search(text, span.start, span.end)
        at = stated.start() if stated else span.start  # the figure's words are before it, in the span or not (达到121万吨)
        kind = kind_in(chunk, at) if re.search(r"\d", span.text) else None
        reading.span = span
        reading.margin = span.score - span.no_answer
        reading.score = reading.margin + self.weights.retrieval * reading.hit.score
        years = question.years if named is None else [y for y in question.years if y != title_year(chunk.title) or _restated(question.text, y)]
        unsaid = reviewed_year(chunk.title, chunk.date) if named is None and kind == "outcome" else None
        reading.dated_elsewhere = ((bool(years) and not of_years(text, span.start, span.end, year, years, unsaid))
                                   or (reading.looking_back and kind != "outcome"))
        reading.other_kind = asks.kind is not None and kind not in (asks.kind, None)
        reading.misshapen = asks.shape is not None and not asks.shape.search(span.text)
        reading.difference = not asks.change and stated is not None and difference(text, stated.start())
        reading.other_subject = of_swapped_subject(text, span.start, question.replaced, asks.topics)
        reading.per_head = not asks.per_head and per_head(text, at)
        reading.other_measure = asks.figure and other_measure(text, at, asks.measures)

    def __call__(self, question: Question, hits: list[Hit], top_k: int = 5, named: frozenset[str] | None = None) -> Answer:
        hits, deeper = hits[:max(self.depth, top_k)], hits[max(self.depth, top_k):]
        first = self.read_first
        readings = self.read(question, hits, named, first)
        if not readings:
            return Answer(None, "not_found", [])
        if first < self.read_depth:
            settled = self._settled(readings, first)
            readings = readings[:first] + self.read(question, hits, named, self.read_depth - first, skip=first,
                                                    tokens=self.focused if settled else None)
        if self._of_other_times(readings[:self.read_depth]):
            readings = readings[:self.read_depth] + self.read(question, hits, named, skip=self.read_depth)
        # Passages the reader read come first, by answer score (unanchored ones last among them); the rest keep retrieval order.
        readings.sort(key=lambda r: (r.span is None, not r.eligible, -r.score))
        best = readings[0]
        confidence = _sigmoid(best.score - self.weights.threshold) if best.eligible else 0.0
        if not best.eligible or best.score < self.weights.threshold:
            return Answer(None, "not_found", readings[:top_k], confidence=confidence)
        if entries := self._series(question, readings, deeper, named):
            cited = [e.reading for e in entries]
            cited += [r for r in readings if not any(r.hit is c.hit for c in cited)][:max(0, top_k - len(cited))]
            return Answer(timeline.summary(entries), "answered", cited, entries[0].reading.value, [], confidence,
                          [e.public() for e in entries])
        conflict = self._conflict(question, readings)
        cited = readings[:top_k]
        missing = [c["reading"] for c in conflict if not any(c["reading"] is r for r in cited)]
        if missing:  # every disagreeing source is cited, in place of the weakest passages when there is room
            cited = cited[:max(top_k - len(missing), len(conflict) - len(missing))] + missing
        if not conflict:
            return Answer(said(best), "answered", cited, best.value, [], confidence)
        by_value: dict[str, list[dict]] = {}
        for c in conflict:  # newest first, so each value is listed at its newest date
            by_value.setdefault(value_key(c["value"]), []).append(c)
        parts = [f"{group[0]['value']}（{'、'.join(c['date'] or '日期不详' for c in group)}《{group[0]['title']}》等）"
                 if len(group) > 1 else f"{group[0]['value']}（{group[0]['date'] or '日期不详'}《{group[0]['title']}》）"
                 for group in by_value.values()]
        text = "各文章说法不一，按日期从新到旧：" + "；".join(parts) + "。"
        public = [{k: v for k, v in c.items() if k != "reading"} for c in conflict]
        return Answer(text, "conflict", cited, conflict[0]["value"], public, confidence)

    @property
    def focused(self) -> int | None:
        """Passage tokens of the windows read after the first passages: reading those alone is what lets
        the rest be focused; all at once, every passage is read in full (None)."""
        return FOCUSED_TOKENS if self.read_first < self.read_depth else None

    def _settled(self, readings: list[Reading], first: int) -> bool:
        """The ``first`` passages read answer, and the rest of the read depth are of their documents: no
        other document's figure is left to compare, only a surer span of the same documents to look for (a
        question naming its report searches that report alone). Otherwise the rest are read in full, as a
        conflict between articles needs."""
        read = {r.hit.chunk.doc_id for r in readings[:first]}
        return (self._answers(readings[:first])
                and all(r.hit.chunk.doc_id in read for r in readings[first:self.read_depth]))

    def _answers(self, readings: list[Reading]) -> bool:
        """One of ``readings`` answers the question (it fits what is asked and clears the threshold)."""
        return any(r.eligible and r.score >= self.weights.threshold for r in readings)

    def _of_other_times(self, readings: list[Reading]) -> bool:
        """No passage read answers, and one states what is asked but of another year or kind: the next
        passages retrieved are read too. An outcome of 2014 is in the 2015 report's review, which ranks
        below the 2014 report's own paragraphs (its plan for 2014, its review of 2013)."""
        if self._answers(readings):
            return False
        return any(r.span is not None and r.anchored and r.score >= self.weights.threshold
                   and (r.dated_elsewhere or r.other_kind) for r in readings)


def clause_named(text: str, span: Span, words: set[str]) -> Span:
    """A span for one figure, cut to its clause holding a figure that names the most of the question's
    words (the first on a tie): a paragraph of figures gives each its subject in its own clause, so the
    next clause is another figure's (2万5千公里、占世界三分之二，高速公路里程从9.6万公里增加到13.6万公里, asked of
    高速铁路运营里程 → 2万5千公里、占世界三分之二), unless it opens a breakdown of this one (共计15人，其中运动员9人)."""
    if _BREAKDOWN.search(text, span.start, span.end):
        return span
    bounds = [span.start, *(m.start() for m in CLAUSE.finditer(text, span.start, span.end)), span.end]
    parts = [(a + (a > span.start), b) for a, b in zip(bounds, bounds[1:]) if QUANTITY.search(text, a, b)]
    if len(parts) < 2:
        return span if not parts else replace(span, start=parts[0][0], end=parts[0][1], text=text[parts[0][0]:parts[0][1]])
    start, end = max(parts, key=lambda part: (_named(text, part[0], words), -part[0]))
    return replace(span, start=start, end=end, text=text[start:end])


def by_subject(text: str, spans: list[Span], words: set[str], change: bool = False) -> list[Span]:
    """A passage's spans, those whose clause names more of the question's words first, else in the
    reader's order (asked of 高速铁路, 高速铁路运营里程…增加到2万5千公里 before 高速公路里程…增加到13.6万公里).
    Asked a ``change``, a figure stated as one comes before any level, whose clause names the subject the
    change's clause leaves out (今年计划完成棚户区改造5000套，比去年多500套: 500套)."""
    def key(span: Span) -> tuple[bool, int]:
        stated = QUANTITY.search(text, span.start, span.end)
        return (change and stated is not None and difference(text, stated.start()), _named(text, span.start, words))
    return sorted(spans, key=key, reverse=True)


def _named(text: str, at: int, words: set[str]) -> int:
    """How many of ``words`` the clause holding ``text[at]`` names."""
    clause = text[slice(*clause_bounds(text, at, CLAUSE))]
    return sum(1 for word in words if len(word) >= 2 and word in clause)


def _restated(question: str, year: int) -> bool:
    """The question speaks of ``year`` beside naming a document of it (2015年政府工作报告提出，当年粮食产量…)."""
    return question.count(f"{year}年") > 1 or bool(re.search(r"当年|今年|同年|该年|本年|全年", question))


def _surest(spans: list[Span]) -> float:
    """How sure the reader is that a passage answers: its best span over the no-answer score
    (margins compare across askings of one question)."""
    return max(span.score - span.no_answer for span in spans)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))
