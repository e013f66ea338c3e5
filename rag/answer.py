"""Pick the answer from retrieved passages: the trained reader's span, its passage, conflicts, or "not found".

The reader (``rag/reader``) reads the top passages and proposes spans with a score and a
"no answer" score. A passage's answer score is the reader's margin (best span − no answer)
plus the retrieval score times a weight; both the weight and the threshold under which the
product declines to answer are fitted on data (``rag/data/answer_weights.json``), not picked by
hand. What the model cannot do stays as rules: a name the question gives must be in the passage
(a passage about 鹿泉区 does not answer a question about 藁城区; a question naming a found article's
title is answered from that article), relative years are resolved for
that check, a person printed under another post (馆长李慧敏) does not answer who the 副馆长 is, a
span that is no e-mail address does not answer a question for one (likewise phone numbers), and
values from different articles are compared as numbers with units.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources

import zhconv

from .chunking import Chunk
from .question import Keyword, Question
from . import timeline
from .reader.features import AGREEMENT_CANDIDATES, Span
from .scope import titles_named
from .search import Hit
from .spans import (CLAUSE_BREAK, QUALIFIER, RELATIVE_YEAR, asked_items, asked_office, asked_post, complete_list,
                    figure_in, figure_kind, figure_kind_asked, figure_units, full_sentence, of_kind, period_of, periods,
                    planned, post_before, resolve_relative, respective, sentences, snap, unit_of, value_key, years_said)
from .tokenizing import normalize

ANCHOR_SHARE = 0.08
SPANS_TRIED = 5  # a passage's best spans tried in turn when the first is dated to other years
NEIGHBOURS = 2  # passages either side in the same section that may name what a passage is about
# A notice closes with its issuer and date (石家庄市人民政府办公室2021年12月21日). Asked when or by whom a notice
# was published, that line answers: it shares no word with the question, so neither search nor reader finds it.
_SIGN_OFF = re.compile(r"^(?:(?P<issuer>[\u4e00-\u9fff（）()]{2,30}?)\s*)?(?P<date>(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)$")
_NOTICE = "公告|通知|通告|公报|声明|决定"
_PUBLISHED = re.compile(rf"(?:{_NOTICE})[^？?，,]{{0,12}}?(?:发布|印发|发出|公布|落款)|(?:发布|印发|发出|公布)[^？?，,]{{0,6}}(?:{_NOTICE})")
_ASKS_WHEN = re.compile(r"哪天|哪一天|何时|什么时候|哪年|几月|日期|时间")
# A byline (□石家庄日报记者 赵艺) or photo credit answers only who reported, wrote or photographed: asked who
# heads an office, the reader reads a byline's name as surely as the official's, and bylines rank high
# because they are short.
_ASKS_BYLINE = re.compile(r"记者|撰稿|作者|撰文|执笔|摄影|拍摄|摄|通讯员|编辑|\b(?:reporters?|wrote|written|authors?|photo\w*|editors?)\b",
                          re.IGNORECASE)
# A notice's closing line (石家庄市人民政府办公室2021年12月21日) answers only who published it or when: asked when
# a congress was first held, the reader reads its bare date as surely as the congress's (1949年7月).
_ASKS_PUBLISHED = re.compile(rf"{_PUBLISHED.pattern}|发布|印发|公布|落款|\b(?:publish|issu|sign)\w*", re.IGNORECASE)
_ASKS_WHO = re.compile(r"哪个单位|哪个部门|哪家|什么单位|什么部门|哪个机构|谁")


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
    dated_elsewhere: bool = False  # the span's sentence dates it to other years than the question asks about
    other_period: bool = False  # the span is of another part of the year than asked (the year's forecast when 上半年 is asked)
    other_kind: bool = False  # asked for a target, the span is an outcome (or the reverse: 7.5%左右 is 2014's target, not its growth)
    other_post: bool = False  # the span is a person printed under another post (副主任 when 主任 is asked, or the reverse)
    misshapen: bool = False  # asked for an e-mail address, a phone number or a count, the span is none
    other_subject: bool = False  # the span's ；-part names none of the question's names, a later part opens with one
    labelled: bool = False  # a contact detail of the form asked, printed under the asked kind's label (传真至:86036652)
    alternatives: list[Span] = field(default_factory=list)  # all the reader's spans in this passage, as read

    @property
    def eligible(self) -> bool:
        return self.span is not None and self.anchored and not self.mismatched

    @property
    def mismatched(self) -> bool:
        """The span is of another year, period, subject or post, or of another form than asked: the reader's next span may not be."""
        return (self.dated_elsewhere or self.other_period or self.other_subject or self.other_post or self.misshapen
                or self.other_kind)

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


@dataclass
class Answer:
    text: str | None
    status: str  # answered | conflict | not_found
    readings: list[Reading] = field(default_factory=list)  # citations in answer order
    value: str | None = None
    conflict: list[dict] = field(default_factory=list)
    confidence: float = 0.0
    timeline: list[dict] = field(default_factory=list)  # a figure's values across periods, newest first (rag.timeline)


def _anchor_words(keyword: Keyword) -> list[str]:
    """What stands for an anchor: itself, a synonym, its leading part (远东 of 远东通信, 鹿泉 of 鹿泉区), or
    itself without the place or scope in front (市国资委 → 国资委). A trailing part alone names the kind
    of thing (通信, 生物) and would let any company stand in."""
    words = [keyword.word, *(w for w, credit in keyword.alternatives if credit > 0.5 or keyword.word.startswith(w))]
    core = QUALIFIER.sub("", keyword.word)
    return words + [core] if core != keyword.word and len(core) >= 3 else words


def _balanced(sentence: str) -> str:
    """Drop a quote mark the clause cut from its partner (“…说 → …说); keep a quoted name whole."""
    if sentence.startswith("“") and sentence.count("“") > sentence.count("”"):
        sentence = sentence[1:]
    if sentence.endswith("”") and sentence.count("”") > sentence.count("“"):
        sentence = sentence[:-1]
    return sentence.strip('"')


def _table(name: str) -> list[list[str]]:
    """The rows of a tab-separated table in rag/data/, without its comment lines."""
    text = resources.files("rag").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _question_words() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(pattern), word.strip()) for pattern, word in _table("question_words_en.tsv")]


QUESTION_WORDS = _question_words()


def _answer_shapes() -> list[tuple[re.Pattern, re.Pattern]]:
    return [(re.compile(asked), re.compile(shape.strip())) for asked, shape in _table("answer_shapes.tsv")]


ANSWER_SHAPES = _answer_shapes()


def _contact_labels() -> list[tuple[re.Pattern, re.Pattern]]:
    return [(re.compile(asked), re.compile(label.strip(), re.IGNORECASE)) for asked, label in _table("contact_labels.tsv")]


CONTACT_LABELS = _contact_labels()
_ANY_LABEL = re.compile("|".join(f"(?:{label.pattern})" for _, label in CONTACT_LABELS), re.IGNORECASE)
_LABEL_REACH = re.compile(r"[。；;\n]")  # a label stands in the detail's clause


def contact_label(question: Question) -> re.Pattern | None:
    """The label printed before the contact detail a question asks for (rag/data/contact_labels.tsv)."""
    asked = question.raw.lower() if question.english else question.read_as
    return next((label for pattern, label in CONTACT_LABELS if pattern.search(asked)), None)


def label_before(text: str, start: int) -> str | None:
    """The contact label printed nearest before ``start`` in its clause, within 30 characters (传真 in 传真至:86036652)."""
    begin = max([start - 30, *(m.end() for m in _LABEL_REACH.finditer(text, max(0, start - 30), start))])
    found = [m.group(0) for m in _ANY_LABEL.finditer(text, max(0, begin), start)]
    return found[-1] if found else None


def answer_shape(question: Question) -> re.Pattern | None:
    """The form the answer must have when the question asks for a contact detail or a count (rag/data/answer_shapes.tsv)."""
    asked = question.raw.lower() if question.english else question.read_as
    return next((shape for pattern, shape in ANSWER_SHAPES if pattern.search(asked)), None)


@dataclass(frozen=True)
class Asks:
    """What the question asks a span to be, worked out once per question."""

    post: bool | None  # a deputy's name, a head's, or no post (:func:`asked_post`)
    shape: re.Pattern | None  # the form of a contact detail or a count (:func:`answer_shape`)
    periods: frozenset[tuple[int, int]]  # parts of a year, as (first month, last month) (:func:`periods`)
    items: int | None  # so many things listed (哪三大行动: :func:`asked_items`)
    label: re.Pattern | None = None  # the label of the contact detail asked for (:func:`contact_label`)
    names: tuple[tuple[str, ...], ...] = ()  # the distinctive names the question gives, each with its other spellings
    topics: tuple[tuple[str, ...], ...] = ()  # what a follow-up swapped in (电子信息产业 in 那电子信息产业呢), each with its other spellings
    kind: str | None = None  # a target or an outcome asked (:func:`figure_kind_asked`)

    @classmethod
    def of(cls, question: Question, names: tuple[tuple[str, ...], ...] = ()) -> Asks:
        asked = question.raw if question.english else question.read_as
        topics = tuple(tuple(_anchor_words(k)) for k in question.groups if k.topic)
        return cls(asked_post(question.read_as), answer_shape(question), frozenset(periods(question.read_as)), asked_items(asked),
                   contact_label(question), names, topics, figure_kind_asked(asked))


def _names_any(text: str, names: tuple[tuple[str, ...], ...]) -> bool:
    return any(word in text for words in names for word in words)


def _of_other_subject(text: str, start: int, names: tuple[tuple[str, ...], ...]) -> bool:
    """The ；-part of a sentence holding ``start`` names none of ``names`` while a later part opens with
    one: a list of subjects and their deeds (中瓷电子具备了…；普兴电子打破8英寸硅外延片的国外垄断；森思泰克自主
    研发的毫米波雷达…), where the radar is not 普兴电子's. A name in the sentence's first part may govern the
    parts after it (石家庄交投集团表示,…；全力推进4、5、6号线…), so it says nothing."""
    if not names:
        return False
    begin, stop = full_sentence(text, start)
    parts = [(a, b) for a, b in sentences(text) if begin <= a < stop]
    own = next(((a, b) for a, b in parts if a <= start < b), None)
    opens = lambda a, b: any(text[a:b].lstrip(" “\"'（(").startswith(w) for words in names for w in words)  # noqa: E731
    return (own is not None and not _names_any(text[own[0]:own[1]], names)
            and any(opens(a, b) for a, b in parts[1:] if (a, b) != own))


def _of_swapped_subject(text: str, start: int, replaced: tuple[str, ...], topics: tuple[tuple[str, ...], ...]) -> bool:
    """The clause holding ``start`` names what a follow-up swapped out and not what it swapped in: after
    2021年以来生物医药产业新上了多少个省市重点项目, 那电子信息产业呢 is not answered by 生物医药产业新上…项目109个
    when the next clause says 新一代电子信息产业新上…项目73个."""
    if not replaced or not topics:
        return False
    begin = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    stop = next((m.start() for m in CLAUSE_BREAK.finditer(text, start)), len(text))
    clause = text[begin:stop]
    return any(word in clause for word in replaced) and not _names_any(clause, topics)


def _whole(place: str, text: str, issuer: str) -> bool:
    """全省 / 全市 stand for the province or city that issued the document: its title or source names it
    (河北省 asked, 全省上下 printed in 河北日报). In another province's report 全省 is that province's, so a
    question about a place no document is issued by or about is not answered from one."""
    level = place[-1]
    return level in "省市" and f"全{level}" in text and len(place) > 2 and place[:-1] in issuer


def _reported(reading: Reading) -> dict:
    """One side of a conflict: the value and where it was printed."""
    chunk = reading.hit.chunk
    return {"value": reading.value, "date": chunk.date, "doc_id": chunk.doc_id, "title": chunk.title,
            "paragraph": chunk.paragraph, "reading": reading}


def _to_form(text: str, span: Span, shape: re.Pattern | None, beside: int = 3) -> Span:
    """A span holding one figure of the form asked and more than ``beside`` other characters is cut to
    that figure, completed (总投资多少 of 744亿元的省市重点项目 → 744亿元; 全年新引进项目212个 → 212个).
    A few words beside it are how the answer is said (近300家, 3名子女, 成立于1919年): in the training data
    174 of 198 answers to count questions that hold one figure have at most 3 characters beside it.
    One holding several figures stays: a date (2021年12月21日) or a list is the answer whole."""
    forms = list(shape.finditer(text, span.start, span.end)) if shape is not None else []
    if len(forms) != 1 or len(span.text) - len(forms[0].group(0)) <= beside:
        return span
    return snap(text, _narrowed(span, forms))


def _narrowed(span: Span, forms: list[re.Match]) -> Span:
    """``span`` cut to the last of ``forms`` it holds (211个园区中排名第八 → 第八); ``span`` itself when it holds none."""
    inside = [m for m in forms if span.start <= m.start() and m.end() <= span.end]
    if not inside:
        return span
    form = inside[-1]
    return replace(span, start=form.start(), end=form.end(), text=form.group(0))


def reader_questions(question: Question) -> list[str]:
    """What the reader is asked: the question in simplified script (follow-ups resolved, or their own
    question when they ask one: :attr:`Question.asks`). An English
    question is asked twice: as written plus its Chinese keywords and the Chinese word for what it asks
    (谁, 多少 …), and as those Chinese words alone. The reader learned from Chinese questions; English
    words beside the keywords carry the meaning on some passages and raise the no-answer score on
    others, so each passage keeps its surer reading (English items of all own sets answered: as
    written 12/32, Chinese words alone 17/32, both 19/32)."""
    if not question.english:
        return [zhconv.convert(question.read_as, "zh-cn")]
    asked = next((word for pattern, word in QUESTION_WORDS if pattern.search(question.raw.lower())), "什么")
    keywords = list(dict.fromkeys(k.word for k in question.groups))
    written = f"{question.raw} {' '.join(keywords)}{asked}？"
    return [written, f"{''.join(keywords)}{asked}？"] if keywords else [written]


def _surest(spans: list[Span]) -> float:
    """How sure the reader is that a passage answers: its best span over the no-answer score
    (margins compare across askings of one question)."""
    return max(span.score - span.no_answer for span in spans)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, x))))


class Answerer:
    """Callable: (question, hits) → :class:`Answer`."""

    def __init__(self, reader, idf: dict[str, float], chunks: list[Chunk] | None = None,
                 weights: AnswerWeights | None = None, read_depth: int = 4, depth: int = 10,
                 places: Callable[[str], set[str]] | None = None) -> None:
        """``places``: the places a text names (:meth:`QuestionReader.places`), to tell whose figure a sentence gives."""
        self.reader = reader
        self.places = places
        self.idf = idf
        self.chunks = chunks or []  # the index's passages in article order: neighbours share a subject
        self.titles = {normalize(title) for title in {c.title for c in self.chunks}}
        self.default_idf = max(idf.values(), default=5.0)
        # A name found in more than one passage in ANCHOR_SHARE (石家庄 here) tells passages apart too little to insist on.
        self.anchor_idf = math.log(1 + 1 / ANCHOR_SHARE)
        self.weights = weights or AnswerWeights.load()
        self.read_depth = read_depth
        self.depth = depth

    # Step 1: names the question gives must be in the passage.
    def _anchored(self, question: Question, whole: str, context: str, issuer: str = "") -> bool:
        """Every distinctive name the question gives is in the passage or its context (title, headings)."""
        text = whole + " " + context
        for i, keyword in enumerate(question.groups):
            if keyword.topic and not any(w in text for w in _anchor_words(keyword)):
                return False  # 那生物医药呢: a passage about electronics does not answer, however common 生物医药 is
            if not keyword.anchor or (self.idf.get(keyword.word, math.inf) < self.anchor_idf
                                      and not any(w in t for t in self.titles for w in _anchor_words(keyword))):
                continue  # common in the passages, unless documents are told apart by it (广东 of 2026年广东省政府工作报告)
            if any(w in text for w in _anchor_words(keyword)):
                continue
            # 河北省商务厅 is printed 省商务厅 in a provincial paper: the level word joined to the next name stands for the place.
            following = question.groups[i + 1].word if i + 1 < len(question.groups) else ""
            office = following and re.search(r"[厅局委办院部]$|中心$|政府$", following)
            if not (keyword.word[-1] in "省市区县" and office and keyword.word[-1] + following in text) and not _whole(keyword.word, text, issuer):
                return False
        return True

    def _names(self, question: Question) -> tuple[tuple[str, ...], ...]:
        """The distinctive names the question gives (places, firms, people; not years), as the anchoring check takes them."""
        return tuple(tuple(_anchor_words(k)) for k in question.groups
                     if k.anchor and not re.fullmatch(r"\d{4}年?", k.word) and self.idf.get(k.word, self.default_idf) >= self.anchor_idf)

    def _neighbours(self, hit: Hit, reach: int = NEIGHBOURS) -> str:
        """The passages next to this one in its article section ("在刘文富看来…" names the park two paragraphs up)."""
        if hit.row < 0 or hit.row >= len(self.chunks):
            return ""
        chunk = hit.chunk
        near = self.chunks[max(0, hit.row - reach):hit.row + reach + 1]
        return " ".join(normalize(c.text) for c in near if c.doc_id == chunk.doc_id and c.heading == chunk.heading and c.kind == "body")

    def _anchoring(self, question: Question, hit: Hit) -> bool:
        year = hit.chunk.year
        issuer = normalize(f"{hit.chunk.title} {hit.chunk.source}")  # 石家庄日报 is about 石家庄 throughout
        context = normalize(resolve_relative(f"{hit.chunk.context} {hit.chunk.source} {year or ''}年 {hit.chunk.date}", year))
        whole = normalize(resolve_relative(hit.chunk.text, year))
        return self._anchored(question, whole, context, issuer) or self._anchored(question, whole, self._neighbours(hit) + " " + issuer, issuer)

    # Step 2: the reader reads the top passages; each gets its best span and an answer score.
    def read(self, question: Question, hits: list[Hit], named: frozenset[str] | None = None,
             depth: int | None = None) -> list[Reading]:
        """The first ``depth`` passages read (the read depth by default). ``named``: the documents the question
        names (:class:`rag.scope.Scope`); a passage of another does not answer."""
        wording = question.raw if question.english else question.read_as
        bylines, sign_offs = bool(_ASKS_BYLINE.search(wording)), bool(_ASKS_PUBLISHED.search(wording))
        read = [number for number, hit in enumerate(hits)
                if (bylines or hit.chunk.kind != "byline") and (sign_offs or not _SIGN_OFF.match(hit.chunk.text.strip()))][:depth or self.read_depth]
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
        asks = Asks.of(question, self._names(question))  # what the question asks for, once
        shaped = lambda text, span: _to_form(text, complete_list(text, respective(text, snap(text, span), asked), asks.items), asks.shape)  # noqa: E731
        readings, titled = [], titles_named(question.text, {hit.chunk.title for hit in hits})
        for number, hit in enumerate(hits):
            held = (not titled or hit.chunk.title in titled) and (named is None or hit.chunk.doc_id in named)
            reading = Reading(hit, anchored=held and self._anchoring(question, hit))
            # The passage's best span, or, when it is of other years, another post or another form than
            # asked, the reader's next best that is not (2023's figure, not this year's, from one paragraph).
            reading.alternatives = proposed.get(number, [])
            choices = [shaped(hit.chunk.text, span) for span in reading.alternatives[:SPANS_TRIED]]
            posted_elsewhere: list[Span] = []  # a piece of a name printed under another post (慧敏 of 李慧敏) is that name
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
                        self._reread(reading, question, asks, shaped, lambda a, b: _names_any(text[a:b], asks.names))
                    elif reading.misshapen and asks.shape is not None and not (reading.dated_elsewhere or reading.other_post):
                        self._reshape(reading, question, asks, shaped)
            readings.append(reading)
        return readings

    def _reread(self, reading: Reading, question: Question, asks: Asks, shaped: Callable[[str, Span], Span],
                relevant: Callable[[int, int], object]) -> None:
        """Read again only the passage's sentences that are ``relevant`` (name the asked period, or the
        question's names), when every span the reader gave is of another period or another subject. Why: a
        paragraph holding several figures or several firms gives the reader's surer spans to the others:
        last year's figure and the year's forecast beside this half-year's (2023年…1174亿元…今年上半年…
        662.8亿元…预计年底突破1300亿元), or a ；-list of firms and their feats (…；普兴电子打破8英寸硅外延片的
        国外垄断；森思泰克…毫米波雷达…)."""
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
        sentence of its best span, cut to it: asked 位列第几 of 在全国211个园区中竞争力排名第八, the reader's best
        spans are 211个 and 在全国211个, its 14th 211个园区中竞争力排名第八. The form must be in that sentence:
        asked how many foreign projects, its best span is 外资4.2亿美元, and 65个 two sentences on counts
        something else. A form the question states (212个项目里) is not what it asks."""
        text, first = reading.hit.chunk.text, reading.span
        begin, end = reading.sentence
        forms = [m for m in asks.shape.finditer(text, begin, end) if m.group(0) not in question.read_as]
        at = {(m.start(), m.end()) for m in forms}
        for span in sorted(reading.alternatives[SPANS_TRIED:], key=lambda s: -s.score):
            if ((narrowed := _narrowed(shaped(text, span), forms)).start, narrowed.end) in at:
                self._take(reading, snap(text, narrowed), question, asks)  # 30% → 30%以上
                if not reading.mismatched:
                    return
        self._take(reading, first, question, asks)

    def _take(self, reading: Reading, span: Span, question: Question, asks: Asks) -> None:
        """Read ``span`` as the passage's answer and check it against what the question asks."""
        text = reading.hit.chunk.text
        figure = asks.kind is not None and bool(re.search(r"\d", span.text))
        if figure and figure_kind(text, span.start) not in (asks.kind, None):
            span = of_kind(text, span, asks.kind) or span  # a clause of a plan and a deed, cut to the one asked
        reading.span = span
        reading.margin = span.score - span.no_answer
        reading.score = reading.margin + self.weights.retrieval * reading.hit.score
        reading.dated_elsewhere = bool(question.years) and not self._of_years(reading, question.years)
        reading.other_kind = figure and figure_kind(text, span.start) not in (asks.kind, None)
        reading.other_period = bool(asks.periods) and period_of(reading.hit.chunk.text, span.start) not in asks.periods | {None}
        printed = post_before(reading.hit.chunk.text, span.start)
        reading.other_post = None not in (asks.post, printed) and asks.post != printed
        reading.misshapen = asks.shape is not None and not asks.shape.search(span.text)
        if asks.label is not None and (printed_label := label_before(reading.hit.chunk.text, span.start)) is not None:
            reading.misshapen |= not asks.label.fullmatch(printed_label)  # 传真至:86036652 is no consultation phone
            reading.labelled = not reading.misshapen
        else:
            reading.labelled = False
        reading.other_subject = (_of_other_subject(reading.hit.chunk.text, span.start, asks.names)
                                 or _of_swapped_subject(reading.hit.chunk.text, span.start, question.replaced, asks.topics))

    @staticmethod
    def _of_years(reading: Reading, years: list[int]) -> bool:
        """The span's sentence names none of the years asked about but names others (去年 in a 2023
        article is 2022): a figure for another year does not answer. A sentence naming no year may."""
        said = Answerer._years(reading)
        return not said or bool(said & set(years))

    @staticmethod
    def _answerable_shape(question: Question) -> bool:
        """An English question needs two content terms: one stray word ("alert") is no question."""
        return not question.english or sum(1 for k in question.groups if not k.word.isdigit()) >= 2

    # Step 3: order by answer score, detect conflicting values, decide whether to answer.
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
        if not best.eligible or not sure or not self._answerable_shape(question):
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
        if conflict:
            by_value: dict[str, list[dict]] = {}
            for c in conflict:  # newest first, so each value is listed at its newest date
                by_value.setdefault(value_key(c["value"]), []).append(c)
            parts = [f"{group[0]['value']}（{'、'.join(c['date'] or '日期不详' for c in group)}《{group[0]['title']}》等）"
                     if len(group) > 1 else f"{group[0]['value']}（{group[0]['date'] or '日期不详'}《{group[0]['title']}》）"
                     for group in by_value.values()]
            text = "各文章说法不一，按日期从新到旧：" + "；".join(parts) + "。"
            public = [{k: v for k, v in c.items() if k != "reading"} for c in conflict]
            return Answer(text, "conflict", cited, conflict[0]["value"], public, confidence)
        return Answer(self._sentence(best), "answered", cited, best.value, [], confidence)

    def _signed(self, question: Question, readings: list[Reading], top_k: int) -> Answer | None:
        """Asked when or by whom a notice was published: the date or issuer of the sign-off closing the
        section of the surest passage that names what the question names (None when it has none)."""
        asked = question.read_as
        part = "date" if _ASKS_WHEN.search(asked) else "issuer" if _ASKS_WHO.search(asked) else None
        if part is None or not _PUBLISHED.search(asked):
            return None
        best = next((r for r in readings if r.span is not None and r.anchored), None)
        if best is None or best.hit.row < 0:
            return None
        chunk = best.hit.chunk
        for row in range(len(self.chunks) - 1, -1, -1):
            closing = self.chunks[row]
            if closing.doc_id != chunk.doc_id or closing.heading != chunk.heading:
                continue
            if (match := _SIGN_OFF.match(closing.text.strip())) and match.group(part):
                offset = closing.text.index(match.group(0))
                signed = Reading(Hit(closing, best.hit.score, row=row))
                signed.span = Span(0, offset + match.start(part), offset + match.end(part), match.group(part),
                                   best.span.score, best.span.no_answer)
                signed.margin, signed.score = best.margin, best.score
                cited = [signed] + [r for r in readings if r.hit.row != row][:top_k - 1]
                confidence = _sigmoid(best.score - self.weights.threshold)
                return Answer(self._sentence(signed), "answered", cited, signed.value, [], confidence)
            break  # only the section's last passage can close it
        return None

    def _series(self, question: Question, readings: list[Reading], deeper: list[Hit],
                named: frozenset[str] | None) -> list[timeline.Entry]:
        """Asked of no year or part of one, a figure stated by several dated documents: its values per
        document (:mod:`rag.timeline`), each document's best passage read when none of it was."""
        best = readings[0]
        if question.years or periods(question.read_as) or not best.hit.chunk.date or not re.search(r"\d", best.value or ""):
            return []
        read = {r.hit.chunk.doc_id for r in readings if r.span is not None}
        unread: dict[str, Hit] = {}
        for hit in [r.hit for r in readings] + deeper:
            if hit.chunk.date and hit.chunk.doc_id not in read:
                unread.setdefault(hit.chunk.doc_id, hit)
        more = self.read(question, list(unread.values())[:timeline.DOCUMENTS], named, timeline.DOCUMENTS) if unread else []
        asked = self._places_asked(question)
        sure = [r for r in readings + more if r.eligible and r.score >= self.weights.threshold and r.hit.chunk.date
                and (r is best or not self._of_another_place(r, asked))]
        words = [w for g in question.groups if not g.anchor for w in g.words]
        begin, end = full_sentence(best.hit.chunk.text, best.span.start, best.span.end)
        subject = timeline.subject_word(words, best.hit.chunk.text[begin:end], self.idf)
        return timeline.series(sure, self._units_compared(best), subject)

    def _second_sources(self, question: Question, readings: list[Reading], most: int = 2) -> list[Reading]:
        """Passages past the read depth, each from an article not read yet, that state a figure in a
        unit of the answer's: a figure revised over time is reported again, and the older report
        often ranks below the newer one. Read only to find a conflict, not to pick the answer; and only
        a passage that would clear the threshold if read as surely as the answer was (a conflict
        counts only passages that would answer on their own)."""
        best = readings[0]
        if not best.hit.chunk.date or not re.search(r"\d", best.value or ""):
            return []
        units = set(self._units_compared(best))
        read = {r.hit.chunk.doc_id for r in readings if r.span is not None}
        unread: dict[str, Hit] = {}
        for reading in readings:
            chunk = reading.hit.chunk
            could_answer = best.margin + self.weights.retrieval * reading.hit.score >= self.weights.threshold
            if (reading.span is None and could_answer and chunk.date and chunk.doc_id not in read
                    and units & set(figure_units(chunk.text))):
                unread.setdefault(chunk.doc_id, reading.hit)
        return self.read(question, list(unread.values())[:most]) if unread else []

    def _conflict(self, question: Question, readings: list[Reading]) -> list[dict]:
        """Different figures for one fact from different articles, newest first.

        Only values that can be one fact reported twice, each from a passage that would answer on its
        own (its score clears the not-found threshold): figures in the same unit (亩 against 亿元 is two
        facts) within 1.5× of each other. Names are not compared: the reader does not tell a 主任 from a
        副主任, and a false conflict misleads more than a missed one."""
        best = readings[0]
        if not re.search(r"\d|[一二三四五六七八九十]", best.value or ""):
            return []
        asked = self._places_asked(question)
        plan = planned(question.read_as) or (question.english and any(planned(w) for g in question.groups for w in g.words))
        for unit in self._units_compared(best):
            if conflict := self._conflict_in(readings, unit, asked, frozenset(question.years), plan):
                return conflict
        return []

    def _holders(self, question: Question, readings: list[Reading]) -> list[dict]:
        """Different people printed right after the very post asked, in different articles, newest first:
        a post changes hands (管委会主任李瑞峰 in 2021, 管委会主任赵路新 in 2023), and each is the answer
        of its date. Only the post with its body, as the question words it, counts: the reader does not
        tell a 主任 from a 副主任 or a 书记, the printed title does."""
        office, names = asked_office(question.read_as), self._names(question)
        if office is None:
            return []
        by_doc: dict[str, Reading] = {}
        for reading in readings:
            if not reading.eligible or reading.score < self.weights.threshold or not reading.hit.chunk.date:
                continue
            text, start = reading.hit.chunk.text, reading.span.start
            # The post of the place or body asked (正定高新区…常务副主任, not 经开区…常务副主任), printed in the name's sentence.
            doc = reading.hit.chunk.doc_id
            if (text[:start].rstrip().endswith(office) and (not names or _names_any(text[full_sentence(text, start)[0]:start], names))
                    and (doc not in by_doc or reading.score > by_doc[doc].score)):
                by_doc[doc] = reading
        holders = {r.value for r in by_doc.values()}
        if len(holders) < 2 or any(a != b and a in b for a in holders for b in holders):
            return []  # one person, or one name read whole and in part
        return [_reported(r) for r in sorted(by_doc.values(), key=lambda r: r.hit.chunk.date, reverse=True)]

    def _units_compared(self, best: Reading) -> list[str]:
        """The answer's own unit (亿元 for 1100亿元), then, for a clause read whole, the unit of the figure asked about."""
        asked = self._figure_asked(best)
        return [unit_of(best.value), *([asked] if asked else [])]

    @staticmethod
    def _figure_asked(reading: Reading) -> str | None:
        """The unit of the figure asked about in a clause read whole (增速保持在30%以上,2024年突破1100亿元):
        that of the figure the reader itself scores highest as a span of its own; None when it
        proposed none of the clause's figures alone."""
        span, units = reading.span, set(figure_units(reading.value))
        # A span whose unit is one of the clause's figure units is that figure alone (突破1100亿元 is 亿元; 2024年突破1100亿元 is not).
        alone = [s for s in reading.alternatives if span.start <= s.start and s.end <= span.end and unit_of(s.text) in units]
        return unit_of(max(alone, key=lambda s: s.score).text) if alone else None

    def _places_asked(self, question: Question) -> set[str] | None:
        """The places a question names, and its names of any kind (鹿泉 may be tagged a person's name)."""
        if self.places is None:
            return None
        named = {word for g in question.groups if g.anchor for word in _anchor_words(g)}
        return named | self.places(" ".join(g.word for g in question.groups) if question.english else question.text)

    def _of_another_place(self, reading: Reading, asked: set[str] | None) -> bool:
        """The figure's sentence names a district, county, city or province the question does not, and no
        place it does: "鹿泉区…力争2024年突破1100亿元" is the district's figure, not the city's (石家庄)."""
        if asked is None:
            return False
        start, end = reading.sentence
        named = self.places(reading.hit.chunk.text[start:end])
        same = lambda place: any(place in other or other in place for other in asked)  # noqa: E731 石家庄 / 石家庄市
        return any(place[-1] in "省市区县" and not same(place) for place in named) and not any(same(p) for p in named)

    def _conflict_in(self, readings: list[Reading], unit: str, asked: set[str] | None = None,
                     asked_years: frozenset[int] = frozenset(), plan: bool = False) -> list[dict]:
        own = figure_in(readings[0].value, unit)
        if own is None:
            return []
        best = readings[0].value[slice(*own)]
        best_years = self._years(readings[0])
        by_doc: dict[str, tuple[Reading, tuple[int, int]]] = {}  # each article's surest reading, and where its figure is
        for reading in readings:
            if not reading.eligible or reading.score < self.weights.threshold or not reading.hit.chunk.date:
                continue  # undated passages (an encyclopedia) are not reports of one fact at different times
            years = self._years(reading)
            if asked_years and not years and reading.hit.chunk.year not in asked_years:
                continue  # asked of 2024, a 2023 article's 同比增长35.47% naming no year is 2023's, no report of 2024's 30%以上
            if best_years and years and not best_years & years:
                continue  # 截至2023年底980人 and 截至2022年底850人: two years' figures, not one fact reported twice
            if reading is not readings[0] and self._of_another_place(reading, asked):
                continue  # a district's figure beside the city's: two places' figures
            text, start = reading.hit.chunk.text, reading.span.start
            if plan and reading is not readings[0] and not planned(text[full_sentence(text, start)[0]:start]):
                continue  # asked for a target (力争…保持在30%以上), an outcome (同比增长35.47%) is not another report of it
            where = figure_in(reading.value, unit)
            if where is None or not self._same_fact(best, reading.value[slice(*where)]):
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
        return [_reported(r) for r, _ in chosen]

    @staticmethod
    def _years(reading: Reading) -> set[int]:
        return years_said(reading.hit.chunk.text, reading.span.start, reading.span.end, reading.hit.chunk.year)

    @staticmethod
    def _same_fact(best: str, other: str) -> bool:
        """Reports revise a figure (1000 → 1100亿元) but do not multiply it."""
        numbers = [float(m.group(0)) for m in (re.search(r"\d+(?:\.\d+)?", value_key(v)) for v in (best, other)) if m]
        return len(numbers) < 2 or max(numbers) <= 1.5 * min(numbers)

    @staticmethod
    def _sentence(reading: Reading) -> str:
        """A short answer sentence from the cited text: the clause(s) around the span, relative years resolved."""
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
        year = reading.hit.chunk.year
        if year:  # 去年8月 → 去年8月（2023年8月）: the words as printed, then what they mean
            sentence = re.sub(r"(今年|去年|明年)(\d{1,2}月(?:\d{1,2}日)?)?",
                              lambda m: f"{m.group(0)}（{year + RELATIVE_YEAR[m.group(1)]}年{m.group(2) or ''}）", sentence)
        return sentence.rstrip("，,；;：:") + ("" if sentence.endswith(("。", "！", "？", "…")) else "。")
