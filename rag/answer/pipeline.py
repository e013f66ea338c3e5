"""The answer step: read the top passages, choose the surest fitting span, compare, or decline.

1. read: the reader proposes spans for each top passage; a passage whose names are not the
   question's does not answer (:mod:`.names`), and a span of other years, another period, another
   post or another form than asked gives way to the reader's next (:mod:`.dates`, :mod:`.people`,
   :mod:`.forms`); 2. choose: passages by answer score; 3. a notice's sign-off (:mod:`.notices`), a
   series across dated documents or a conflict between them (:mod:`.conflicts`); 4. not found under
   the fitted threshold.
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
from .dates import figure_kind, of_kind, of_years, period_of, periods, years_said
from .forms import label_before, narrowed, snap, to_form, value_key
from .lists import complete_list, respective
from .names import Anchors, names_any, of_other_subject, of_swapped_subject
from .notices import asked_sign_off, readable, sign_off
from .people import post_before
from .readings import Answer, AnswerWeights, Asks, Reading, reader_questions, said
from .sentences import sentences

SPANS_TRIED = 5  # a passage's best spans tried in turn when the first is dated to other years


class Answerer(Comparisons):
    """Callable: (question, hits) → :class:`Answer`."""

    def __init__(self, reader, idf: dict[str, float], chunks: list[Chunk] | None = None,
                 weights: AnswerWeights | None = None, read_depth: int = 4, depth: int = 10,
                 places: Callable[[str], set[str]] | None = None) -> None:
        """``places``: the places a text names (:meth:`QuestionReader.places`), to tell whose figure a sentence gives."""
        self.reader, self.idf = reader, idf
        self.chunks = chunks or []  # the index's passages in article order: neighbours share a subject
        self.anchors = Anchors(self.chunks, idf, places)
        self.weights = weights or AnswerWeights.load()
        self.read_depth, self.depth = read_depth, depth

    def read(self, question: Question, hits: list[Hit], named: frozenset[str] | None = None,
             depth: int | None = None) -> list[Reading]:
        """The first ``depth`` passages read (the read depth by default). ``named``: the documents the question
        names (:class:`rag.scope.Scope`); a passage of another does not answer."""
        may_answer = readable(question.raw if question.english else question.read_as)
        read = [number for number, hit in enumerate(hits) if may_answer(hit.chunk)][:depth or self.read_depth]
        texts = [hits[number].chunk.text for number in read]
        proposed: dict[int, list[Span]] = {}  # each passage's spans, best first, from the asking surest of it
        for asked in reader_questions(question) if read else []:
            by_passage: dict[int, list[Span]] = {}
            for span in self.reader.read(asked, texts, top=AGREEMENT_CANDIDATES):
                by_passage.setdefault(read[span.passage], []).append(span)
            for number, own in by_passage.items():
                if number not in proposed or _surest(own[:SPANS_TRIED]) > _surest(proposed[number][:SPANS_TRIED]):
                    proposed[number] = own
        asked = {word for group in question.groups for word in group.words}
        asks = Asks.of(question, self.anchors.names(question))  # what the question asks for, once
        shaped = lambda text, span: to_form(text, complete_list(text, respective(text, snap(text, span), asked), asks.items), asks.shape)  # noqa: E731
        readings, titled = [], titles_named(question.text, {hit.chunk.title for hit in hits})
        for number, hit in enumerate(hits):
            held = (not titled or hit.chunk.title in titled) and (named is None or hit.chunk.doc_id in named)
            reading = Reading(hit, anchored=held and self.anchors.holds(question, hit))
            # The passage's best span, or, when it is of other years, another post or another form than
            # asked, the reader's next best that is not (2023's figure, not this year's, from one paragraph).
            reading.alternatives = proposed.get(number, [])
            choices = [shaped(hit.chunk.text, span) for span in reading.alternatives[:SPANS_TRIED]]
            posted_elsewhere: list[Span] = []  # a piece of a name printed under another post (明华 of 李明华) is that name
            for span in choices:
                if any(span.start < other.end and other.start < span.end for other in posted_elsewhere):
                    continue
                self._take(reading, span, question, asks)
                if not reading.mismatched:
                    break
                if reading.other_post:
                    posted_elsewhere.append(span)
            else:
                if choices:
                    self._take(reading, choices[0], question, asks)
                    text, year = hit.chunk.text, hit.chunk.year
                    if asks.periods and (reading.other_period or reading.dated_elsewhere):
                        self._reread(reading, question, asks, shaped, lambda a, b: periods(text[a:b]) & asks.periods and (
                            not question.years or not (said := years_said(text, a, b, year)) or said & set(question.years)))
                    elif reading.other_subject and not (reading.dated_elsewhere or reading.other_post or reading.misshapen):
                        self._reread(reading, question, asks, shaped, lambda a, b: names_any(text[a:b], asks.names))
                    elif reading.misshapen and asks.shape is not None and not (reading.dated_elsewhere or reading.other_post):
                        self._reshape(reading, question, asks, shaped)
            readings.append(reading)
        return readings

    def _reread(self, reading: Reading, question: Question, asks: Asks, shaped: Callable[[str, Span], Span],
                relevant: Callable[[int, int], object]) -> None:
        """Read again only the passage's sentences that are ``relevant`` (name the asked period, or the
        question's names), when every span the reader gave is of another period or another subject. Why: a
        paragraph holding several figures or several firms gives the reader's surer spans to the others
        (last year's figure and the year's forecast beside this half-year's)."""
        text, first = reading.hit.chunk.text, reading.span
        own = [(a, b) for a, b in sentences(text) if relevant(a, b)]
        for span in self.reader.read(reader_questions(question)[0], [text[a:b] for a, b in own], top=SPANS_TRIED) if own else []:
            offset = own[span.passage][0]
            self._take(reading, shaped(text, replace(span, passage=first.passage, start=span.start + offset, end=span.end + offset)),
                       question, asks)
            if not reading.mismatched:
                return
        self._take(reading, first, question, asks)

    def _reshape(self, reading: Reading, question: Question, asks: Asks, shaped: Callable[[str, Span], Span]) -> None:
        """When the spans tried all lack the asked form, the reader's surest other span holding it in the
        sentence of its best span, cut to it (asked 位列第几 of 在全国211个园区中排名第八, its 14th span holds
        第八). A form the question states (212个项目里) is not what it asks."""
        text, first = reading.hit.chunk.text, reading.span
        begin, end = reading.sentence
        forms = [m for m in asks.shape.finditer(text, begin, end) if m.group(0) not in question.read_as]
        at = {(m.start(), m.end()) for m in forms}
        for span in sorted(reading.alternatives[SPANS_TRIED:], key=lambda s: -s.score):
            if ((cut := narrowed(shaped(text, span), forms)).start, cut.end) in at:
                self._take(reading, snap(text, cut), question, asks)  # 30% → 30%以上
                if not reading.mismatched:
                    return
        self._take(reading, first, question, asks)

    def _take(self, reading: Reading, span: Span, question: Question, asks: Asks) -> None:
        """Read ``span`` as the passage's answer and check it against what the question asks."""
        text, year = reading.hit.chunk.text, reading.hit.chunk.year
        figure = asks.kind is not None and bool(re.search(r"\d", span.text))
        if figure and figure_kind(text, span.start) not in (asks.kind, None):
            span = of_kind(text, span, asks.kind) or span  # a clause of a plan and a deed, cut to the one asked
        reading.span = span
        reading.margin = span.score - span.no_answer
        reading.score = reading.margin + self.weights.retrieval * reading.hit.score
        reading.dated_elsewhere = bool(question.years) and not of_years(text, span.start, span.end, year, question.years)
        reading.other_kind = figure and figure_kind(text, span.start) not in (asks.kind, None)
        reading.other_period = bool(asks.periods) and period_of(text, span.start) not in asks.periods | {None}
        printed = post_before(text, span.start)
        reading.other_post = None not in (asks.post, printed) and asks.post != printed
        reading.misshapen = asks.shape is not None and not asks.shape.search(span.text)
        reading.labelled = False
        if asks.label is not None and (printed_label := label_before(text, span.start)) is not None:
            reading.misshapen |= not asks.label.fullmatch(printed_label)  # 传真至:86036652 is no consultation phone
            reading.labelled = not reading.misshapen
        reading.other_subject = (of_other_subject(text, span.start, asks.names)
                                 or of_swapped_subject(text, span.start, question.replaced, asks.topics))

    def __call__(self, question: Question, hits: list[Hit], top_k: int = 5, named: frozenset[str] | None = None) -> Answer:
        readings = self.read(question, hits[:max(self.depth, top_k)], named)
        deeper = hits[max(self.depth, top_k):]
        if not readings:
            return Answer(None, "not_found", [])
        # Passages the reader read come first, by answer score (unanchored ones last among them); the rest keep retrieval order.
        readings.sort(key=lambda r: (r.span is None, not r.eligible, not r.labelled, -r.score))
        if signed := self._signed(question, readings, top_k):
            return signed
        best = readings[0]
        confidence = _sigmoid(best.score - self.weights.threshold) if best.eligible else 0.0
        sure = best.score >= self.weights.threshold or best.labelled  # see rag/data/contact_labels.tsv
        # An English question needs two content terms: one stray word ("alert") is no question.
        terms = not question.english or sum(1 for k in question.groups if not k.word.isdigit()) >= 2
        if not best.eligible or not sure or not terms:
            return Answer(None, "not_found", readings[:top_k], confidence=confidence)
        if entries := self._series(question, readings, deeper, named):
            cited = [e.reading for e in entries]
            cited += [r for r in readings if not any(r is c for c in cited)][:max(0, top_k - len(cited))]
            return Answer(timeline.summary(entries), "answered", cited, entries[0].reading.value, [], confidence,
                          [e.public() for e in entries])
        conflict = self._conflict(question, readings + self._second_sources(question, readings)) or self._holders(question, readings)
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

    def _signed(self, question: Question, readings: list[Reading], top_k: int) -> Answer | None:
        """Asked when or by whom a notice was published: the date or issuer of the sign-off closing the
        section of the surest passage that names what the question names (None when it has none)."""
        part = asked_sign_off(question.read_as)
        best = next((r for r in readings if r.span is not None and r.anchored), None) if part else None
        if best is None or best.hit.row < 0 or (found := sign_off(self.chunks, best.hit.row, part)) is None:
            return None
        row, match = found
        closing = self.chunks[row]
        offset = closing.text.index(match.group(0))
        signed = Reading(Hit(closing, best.hit.score, row=row))
        signed.span = Span(0, offset + match.start(part), offset + match.end(part), match.group(part), best.span.score, best.span.no_answer)
        signed.margin, signed.score = best.margin, best.score
        cited = [signed] + [r for r in readings if r.hit.row != row][:top_k - 1]
        return Answer(said(signed), "answered", cited, signed.value, [], _sigmoid(best.score - self.weights.threshold))


def _surest(spans: list[Span]) -> float:
    """How sure the reader is that a passage answers: its best span over the no-answer score
    (margins compare across askings of one question)."""
    return max(span.score - span.no_answer for span in spans)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))
