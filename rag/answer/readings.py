"""What the answer step passes around: a passage's reading, what a question asks of a span, the answer.

General rule: the reader proposes spans; a passage's answer score is the reader's margin (best span
over "no answer") plus the retrieval score times a weight, and both that weight and the threshold
under which the product declines are fitted on data (rag/data/answer_weights.json), not set by hand.
Example: a passage the reader is sure of but retrieval ranked low can still answer; one the reader
proposes nothing for does not.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources

import zhconv

from ..question import Question
from ..reader.features import Span
from ..search import Hit
from .dates import figure_kind_asked
from .forms import answer_shape, asks_change, per_head, table
from .lists import asked_items
from .names import Names, anchor_words
from .sentences import CLAUSE_BREAK, sentences


_FIGURE_ASKED = re.compile(r"多少|几|多[大高长重快远久宽深]")  # how many, how much, how large …
SPANS_TRIED = 5  # a passage's best spans tried in turn when the first is of other years, another kind or form
# Passage tokens of a focused reader window: the part of a passage sharing most with the question, about a
# third of a full window's cost. Read so: the passages after the first ones answered, all of their documents
# (a surer span of the same documents is looked for, nothing is compared), and the further documents a
# series reads for the one figure it asks (the question's words find its clause). Neither moved an answer
# of any set; every passage read as a question's first stays in full windows, as the reader was trained.
FOCUSED_TOKENS = 96


@dataclass(frozen=True)
class AnswerWeights:
    """How reader and retrieval combine, and when to decline; fitted by ``rag reader fit``."""

    retrieval: float = 4.0  # margin units per unit of normalised retrieval score
    threshold: float = 0.0  # below this answer score a passage does not answer

    @classmethod
    def load(cls) -> AnswerWeights:
        path = resources.files("rag").joinpath("data/answer_weights.json")
        if not path.is_file():
            return cls()
        values = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: float(values[k]) for k in ("retrieval", "threshold") if k in values})


@dataclass
class Reading:
    """How well one passage answers the question."""

    hit: Hit
    span: Span | None = None  # the reader's best span, offsets into the chunk text
    margin: float = -math.inf  # reader: best span score minus the no-answer score
    score: float = -math.inf  # margin + retrieval weight × retrieval score
    anchored: bool = True  # every name the question gives is in this passage, its context or its neighbours
    looking_back: bool = False  # anchored only by the year its document looks back on (a 2023 report's 2022)
    dated_elsewhere: bool = False  # the span's sentence dates it to other years than the question asks about
    other_kind: bool = False  # asked for a target, the span is an outcome (or the reverse)
    misshapen: bool = False  # asked for an e-mail address, a phone number or a count, the span is none
    difference: bool = False  # asked how much something is, the span says how much it changed (比去年多100万人)
    other_subject: bool = False  # the span's clause names what a follow-up swapped out, not what it swapped in
    per_head: bool = False  # the span's clause gives the figure per head (人均), which the question does not ask
    other_measure: bool = False  # the span's clause names a sibling of the measure asked (城镇登记失业率 for 城镇调查失业率)
    alternatives: list[Span] = field(default_factory=list)  # all the reader's spans in this passage, as read

    @property
    def eligible(self) -> bool:
        return self.span is not None and self.anchored and not self.mismatched

    @property
    def mismatched(self) -> bool:
        """The span is of another year, kind or subject, or of another form than asked: the reader's next span may not be."""
        return self.dated_elsewhere or self.other_kind or self.other_subject or self.misshapen or self.difference or self.per_head or self.other_measure

    @property
    def value(self) -> str | None:
        return self.span.text if self.span else None

    @property
    def sentence(self) -> tuple[int, int]:
        """The sentence holding the span (the whole passage when there is none)."""
        if self.span is None:
            return (0, len(self.hit.chunk.text))
        return next(((s, e) for s, e in sentences(self.hit.chunk.text) if s <= self.span.start < e),
                    (self.span.start, self.span.end))

    def reported(self) -> dict:
        """One side of a conflict: the value and where it was printed."""
        chunk = self.hit.chunk
        return {"value": self.value, "date": chunk.date, "doc_id": chunk.doc_id, "title": chunk.title,
                "paragraph": chunk.paragraph, "reading": self}


@dataclass
class Answer:
    text: str | None
    status: str  # answered | conflict | not_found
    readings: list[Reading] = field(default_factory=list)  # citations in answer order
    value: str | None = None
    conflict: list[dict] = field(default_factory=list)
    confidence: float = 0.0
    timeline: list[dict] = field(default_factory=list)  # a figure's values across periods, newest first (rag.timeline)


@dataclass(frozen=True)
class Asks:
    """What the question asks a span to be, worked out once per question."""

    shape: re.Pattern | None  # the form of a contact detail, a count, an amount … (:func:`answer_shape`)
    items: int | None  # so many things listed (哪三大行动: :func:`asked_items`)
    topics: Names  # what a follow-up swapped in (电子信息产业 in 那电子信息产业呢), each with its other spellings
    kind: str | None  # a target or an outcome asked (:func:`figure_kind_asked`)
    change: bool  # how much something changed asked (增长了多少), not how much it is (:func:`asks_change`)
    per_head: bool  # a figure per head asked (人均…), not a total (:func:`per_head`)
    figure: bool  # one figure asked: a form, or a kind with 多少/几 (its span is cut to one clause, :mod:`.pipeline`)
    measures: tuple[tuple[str, str, str], ...] = ()  # three question words in a row (城镇 调查 失业率): what a measure is called

    @classmethod
    def of(cls, question: Question) -> Asks:
        asked = question.raw if question.english else question.read_as
        topics = tuple(tuple(anchor_words(k)) for k in question.groups if k.topic)
        # An English question's kind is in its Chinese keywords (target → 目标, plan → 计划, actually → 实际).
        kind = figure_kind_asked(" ".join(k.word for k in question.groups) if question.english else asked)
        shape = answer_shape(question)
        figure = shape is not None or (kind is not None and bool(_FIGURE_ASKED.search(question.read_as)))
        words = [] if question.english else [k.word for k in question.groups]
        measures = tuple((a, b, c) for a, b, c in zip(words, words[1:], words[2:]) if len(b) >= 2 and a + b + c in question.text)
        return cls(shape, asked_items(asked), topics, kind, asks_change(asked), per_head(question.read_as), figure, measures)


QUESTION_WORDS = [(re.compile(pattern), word.strip()) for pattern, word in table("question_words_en.tsv")]


def reader_questions(question: Question) -> list[str]:
    """What the reader is asked: the question in simplified script (follow-ups resolved, or their own
    question when they ask one: :attr:`Question.asks`). An English question is asked twice: as written
    plus its Chinese keywords and the Chinese word for what it asks (谁, 多少 …), and as those Chinese
    words alone. The reader learned from Chinese questions; English words beside the keywords carry the
    meaning on some passages and raise the no-answer score on others, so each passage keeps its surer
    reading (English items of all own sets answered: as written 12/32, Chinese words alone 17/32, both 19/32)."""
    if not question.english:
        return [zhconv.convert(question.read_as, "zh-cn")]
    asked = next((word for pattern, word in QUESTION_WORDS if pattern.search(question.raw.lower())), "什么")
    keywords = list(dict.fromkeys(k.word for k in question.groups))
    written = f"{question.raw} {' '.join(keywords)}{asked}？"
    return [written, f"{''.join(keywords)}{asked}？"] if keywords else [written]


def said(reading: Reading) -> str:
    """A short answer sentence from the cited text: the clause(s) around the span."""
    text = reading.hit.chunk.text
    start, end = reading.sentence
    span = reading.span
    start, end = min(start, span.start), max(end, span.end)
    clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(text, start, span.start)), default=start)
    ends = [m.start() for m in CLAUSE_BREAK.finditer(text, span.end, end)]
    clause_end = ends[0] if ends else end
    labelled = clause_start > start and text[clause_start - 1] in "：:"  # 电话：0571-88765432: the label says what it is
    if span.end - clause_start < 12 or labelled:  # too short to read alone, or a label's value: take the clause before too
        earlier = [m.end() for m in CLAUSE_BREAK.finditer(text, start, max(start, clause_start - 1))]
        clause_start = earlier[-1] if earlier else start
    if clause_end - clause_start < 12 and len(ends) > 1:  # 1998年，青禾湖被列为…: the sentence opens with it, so the clause after
        clause_end = ends[1]
    if text.count("“", clause_start, clause_end) > text.count("”", clause_start, clause_end):
        closing = text.find("”", clause_end, end)  # a quotation is not cut at its own ；(“来到正定县,一切都好办;投资正定县,…”)
        clause_end = closing + 1 if closing >= 0 else clause_end
    sentence = _balanced(text[clause_start:clause_end].strip().strip("□■▲"))
    return sentence.rstrip("，,；;：:") + ("" if sentence.endswith(("。", "！", "？", "…")) else "。")


def _balanced(sentence: str) -> str:
    """Drop a quote mark the clause cut from its partner (“…说 → …说); keep a quoted name whole."""
    if sentence.startswith("“") and sentence.count("“") > sentence.count("”"):
        sentence = sentence[1:]
    if sentence.endswith("”") and sentence.count("”") > sentence.count("“"):
        sentence = sentence[:-1]
    return sentence.strip('"')
