"""Pick the answer from retrieved passages: the exact span, its passage, conflicts, or "not found".

Libraries stop at retrieval; this step is what users judge. For each top passage it finds the
sentence that covers the question's keywords best (relative dates resolved against the article
date, so 今年 in a 2024 article matches 2024年), takes the span the question asks for from it
(``spans.py``: number with unit, date, name, list, contact, post, or the answering clause),
re-ranks passages by how well they answer, compares the values different articles give, and
declines to answer when the question names something (a place, a year, a company) that no good
passage mentions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from jieba import posseg

from .chunking import Chunk
from .question import Keyword, Question
from .search import Hit
from .spans import (
    CLAUSE_BREAK,
    NAMING,
    QUALIFIER,
    RELATIVE_YEAR,
    Span,
    SpanFinder,
    resolve_relative,
    sentences,
    unit_of,
    value_key,
)
from .tokenizing import Tokenizer, normalize

ANCHOR_SHARE = 0.08
NAMED_BY_CLAUSE = 0.5  # "…项目叫什么" with no quoted name in sight: the clause, if the passage matches well
NEIGHBOURS = 2  # passages either side in the same section that may name what a passage is about


@dataclass
class Reading:
    """How well one passage answers the question."""

    hit: Hit
    coverage: float = 0.0
    sentence: tuple[int, int] = (0, 0)
    span: Span | None = None
    score: float = 0.0
    anchored: bool = True  # every anchor word of the question is in this passage or its context
    clause_coverage: float = 0.0
    borrowed: bool = False  # anchored only by what the neighbouring passages name

    @property
    def value(self) -> str | None:
        return self.span.text if self.span else None


@dataclass
class Answer:
    text: str | None
    status: str  # answered | conflict | not_found
    readings: list[Reading] = field(default_factory=list)  # citations in answer order
    value: str | None = None
    conflict: list[dict] = field(default_factory=list)
    confidence: float = 0.0


def _anchor_words(keyword: Keyword) -> list[str]:
    """What stands for an anchor: itself, a synonym, its leading part (远东 of 远东通信, 鹿泉 of 鹿泉区), or
    itself without the place or scope in front (市国资委 → 国资委, 石家庄市国际生物医药园 → 生物医药园).
    A trailing part alone names the kind of thing (通信, 生物) and would let any company stand in."""
    words = [keyword.word, *(w for w, credit in keyword.alternatives if credit > 0.5 or keyword.word.startswith(w))]
    core = QUALIFIER.sub("", keyword.word)
    return words + [core] if core != keyword.word and len(core) >= 3 else words


def _balanced(sentence: str) -> str:
    """Drop a quote mark the clause cut from its partner (“…说 → …说); keep a quoted name whole (…“跨省通办”)."""
    if sentence.startswith("“") and sentence.count("“") > sentence.count("”"):
        sentence = sentence[1:]
    if sentence.endswith("”") and sentence.count("”") > sentence.count("“"):
        sentence = sentence[:-1]
    return sentence.strip('"')


def _typed(reading: Reading) -> bool:
    """Its span is of the kind asked for (a number, a date, a name), not a clause standing in."""
    return reading.span is not None and reading.span.kind != "clause"


class Answerer:
    """Callable: (question, hits) → :class:`Answer`. ``min_confidence`` is calibrated on the gold set."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        idf: dict[str, float],
        min_confidence: float = 0.2,
        depth: int = 10,
        chunks: list[Chunk] | None = None,
    ) -> None:
        self.idf = idf
        self.chunks = chunks or []  # the index's passages in article order: neighbours share a subject
        self.default_idf = max(idf.values(), default=5.0)
        # A name found in more than one passage in ANCHOR_SHARE (石家庄 here) tells passages apart too little to insist on.
        self.anchor_idf = math.log(1 + 1 / ANCHOR_SHARE)
        self.min_confidence = min_confidence
        self.depth = depth
        self.spans = SpanFinder(self._coverage, posseg.POSTokenizer(tokenizer._jieba))
        # A keyword's weight depends on it and the index alone, yet coverage asks for it for every
        # sentence and clause of every passage read: compute it once.
        self._weight = lru_cache(maxsize=4096)(self._keyword_weight)

    # Step 1: keyword coverage (IDF-weighted; synonyms and sub-words earn partial credit).
    def _keyword_weight(self, keyword: Keyword) -> float:
        weight = max(self.idf.get(w, self.default_idf if w == keyword.word else 0.0) for w in keyword.words)
        return weight * keyword.weight * (2 if re.fullmatch(r"(19|20)\d{2}", keyword.word) else 1)

    @staticmethod
    def _credit(keyword: Keyword, text: str, context: str = "") -> float:
        credit = 1.0 if keyword.word in text else 0.7 if keyword.word in context else 0.0
        for word, alternative in keyword.alternatives:
            if credit >= alternative:
                break
            if word in text:
                credit = alternative
            elif word in context:
                credit = max(credit, 0.7 * alternative)
        return credit

    def _coverage(self, question: Question, text: str, context: str = "", own_first: bool = False) -> float:
        """Share of the question's keyword weight found; ``own_first`` weighs what a follow-up inherited lightly."""
        total = found = 0.0
        for keyword in question.groups:
            weight = self._weight(keyword) * (0.5 if own_first and keyword.weight < 1.0 else 1.0)
            total += weight
            found += weight * self._credit(keyword, text, context)
        return found / total if total else 0.0

    def _anchored(self, question: Question, whole: str, context: str) -> bool:
        """Every distinctive name the question gives is in the passage or its context (title, headings,
        and for a passage opening with 这/该/其 the sentence it refers to)."""
        text = whole + " " + context
        for i, keyword in enumerate(question.groups):
            if not keyword.anchor or self.idf.get(keyword.word, self.default_idf) < self.anchor_idf:
                continue
            if any(w in text for w in _anchor_words(keyword)):
                continue
            # 河北省商务厅 is printed 省商务厅 in a Hebei paper: the level word joined to the next name stands for the place.
            following = question.groups[i + 1].word if i + 1 < len(question.groups) else ""
            office = following and re.search(r"[厅局委办院部]$|中心$|政府$", following)
            if not (keyword.word[-1] in "省市区县" and office and keyword.word[-1] + following in text):
                return False
        return True

    def _neighbours(self, hit: Hit, reach: int = NEIGHBOURS) -> str:
        """The passages next to this one in its article section: "在刘文富看来…" names the park two
        paragraphs up, "比如，…" continues what 市国资委 said just before."""
        if hit.row < 0 or hit.row >= len(self.chunks):
            return ""
        chunk = hit.chunk
        near = self.chunks[max(0, hit.row - reach):hit.row + reach + 1]
        # Each passage on its own: a sentence-sized text hits the normalisation cache, a joined section never does.
        return " ".join(normalize(c.text) for c in near if c.doc_id == chunk.doc_id and c.heading == chunk.heading and c.kind == "body")

    @staticmethod
    def _names_by_clause(question: Question, reading: Reading, confidence: float) -> bool:
        """"…项目叫什么" and no quoted name in sight: the clause answers if the passage matches well and the
        clause says more than the question (绿叶嘉奥中枢神经系统新药获批上市 only restates it)."""
        if reading.span is None or confidence < NAMED_BY_CLAUSE:
            return False
        asked = set(question.text)
        chinese = [ch for ch in reading.span.text if "\u4e00" <= ch <= "\u9fff"]
        new = sum(1 for ch in chinese if ch not in asked)
        return new >= 6 and new >= 0.5 * len(chinese)

    def _focus_absent(self, question: Question, reading: Reading) -> bool:
        """The attribute asked for (年产能, 地区生产总值) is a word the corpus never uses, and neither it,
        a synonym, nor any part of it appears in the answering sentence: the passage answers something else."""
        if reading.span is None:
            return False
        text = normalize(reading.hit.chunk.text[reading.sentence[0]:reading.sentence[1]])
        for focus in question.focus:
            if len(focus) < 3 or focus in self.idf:  # two-character words are too often just paraphrase
                continue
            keyword = next((k for k in question.groups if k.word == focus), None)
            if not any(word in text for word in (keyword.words[1:] if keyword else [])):
                return True
        return False

    def read(self, question: Question, hit: Hit) -> Reading:
        chunk = hit.chunk
        year = chunk.year
        context = normalize(resolve_relative(f"{chunk.context} {year or ''}年 {chunk.date}", year))
        whole = normalize(resolve_relative(chunk.text, year))
        passage_coverage = self._coverage(question, whole, context)
        anchored = self._anchored(question, whole, context)
        borrowed = not anchored and self._anchored(question, whole, self._neighbours(hit))
        anchored = anchored or borrowed
        best = Reading(hit, anchored=anchored)
        spans_by_sentence = []
        for start, end in sentences(chunk.text):
            coverage = self._coverage(question, normalize(resolve_relative(chunk.text[start:end], year)), context)
            span, clause = self.spans.best(question, chunk.text, start, end, year) if question.kind != "sentence" else (None, 0.0)
            if span is None and question.kind in ("what", "where", "list", "sentence") and coverage > 0:
                span, clause = self.spans.clause(question, chunk.text, start, end, year)
            spans_by_sentence.append((start, end, coverage, span, clause))
            score = 0.5 * coverage + 0.5 * clause + (0.15 if span and span.kind != "clause" else 0.0)
            if score > best.score:
                best = Reading(hit, coverage, (start, end), span, score, anchored, clause)
        # A speaker is often named in the sentence after the quote that answers ("…”总经理薛宏伟表示。").
        if question.kind == "who" and best.span is None and spans_by_sentence:
            at = max(range(len(spans_by_sentence)), key=lambda i: spans_by_sentence[i][2])
            order = sorted(range(len(spans_by_sentence)), key=lambda i: (i < at, abs(i - at)))  # following sentences first
            for i in order:
                start, end, coverage, span, clause = spans_by_sentence[i]
                if span and span.kind == "who":
                    best = Reading(hit, spans_by_sentence[at][2], (start, end), span, 0.0, anchored,
                                   max(clause, spans_by_sentence[at][2]))
                    break
        if best.span and best.span.kind == "issuer":  # a signature signs the notice its context names
            best.clause_coverage = max(best.clause_coverage, self._coverage(question, context))
        best.coverage = 0.5 * best.coverage + 0.5 * passage_coverage
        best.borrowed = borrowed
        typed = best.span is not None and best.span.kind != "clause"
        bonus = (0.15 if best.span.fit == 0 else 0.05) if typed else 0.0  # 106个 answers 占了多少地 worse than 2.6万亩
        best.score = 0.4 * best.coverage + 0.45 * best.clause_coverage + bonus
        return best

    @staticmethod
    def _answerable_shape(question: Question) -> bool:
        """An English question needs two content terms: one stray word ("alert") is no question."""
        return not question.english or sum(1 for k in question.groups if not k.word.isdigit()) >= 2

    # Step 3: re-rank by answer quality, detect conflicting values, decide whether to answer.
    def __call__(self, question: Question, hits: list[Hit], top_k: int = 5) -> Answer:
        if not hits or not self._answerable_shape(question):
            return Answer(None, "not_found", [self.read(question, hit) for hit in hits[:top_k]])
        top_fused = hits[0].score

        def ranked(some: list[Hit]) -> list[Reading]:
            readings = [self.read(question, hit) for hit in some]
            for reading in readings:
                retrieval = reading.hit.score / top_fused if top_fused else 0.0
                reading.score = 0.7 * reading.score + 0.3 * retrieval - (0.3 if not reading.anchored else 0.1 if reading.borrowed else 0.0)
            return sorted(readings, key=lambda r: -r.score)

        depth = max(self.depth, top_k)
        readings = ranked(hits[:depth])
        naming = question.kind == "what" and re.search(NAMING, normalize(question.raw))
        typed_required = question.kind in ("number", "date", "who") or bool(naming)
        if question.kind == "who" and not _typed(readings[0]):
            # The passage that tells of an interview may not hold the name (its byline does): a close runner-up that does answers.
            runner_up = next((r for r in readings[1:3] if _typed(r) and r.anchored and r.score >= 0.6 * readings[0].score), None)
            if runner_up is not None:
                readings.remove(runner_up)
                readings.insert(0, runner_up)
        best = readings[0]
        confidence = 0.6 * best.coverage + 0.4 * best.clause_coverage
        if (confidence < self.min_confidence or not best.anchored or self._focus_absent(question, best)
                or (typed_required and not _typed(best) and not (naming and self._names_by_clause(question, best, confidence)))):
            return Answer(None, "not_found", readings[:top_k], confidence=confidence)

        # A source that disagrees may rank lower (an older article words it differently): look deeper for it.
        told_apart = question.kind in ("number", "date", "who") or (best.span is not None and best.span.kind == "post")
        conflict = self._conflict(question, readings[:8] + ranked(hits[depth:2 * depth])) if told_apart else []
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

    def _conflict(self, question: Question, readings: list[Reading]) -> list[dict]:
        """Different values for the same question from different articles, newest first."""
        best = readings[0]
        if not best.span or best.span.kind not in ("number", "ordinal", "date", "who", "post"):
            return []
        by_doc: dict[str, Reading] = {}
        for reading in readings:
            if not (reading.span and reading.anchored and reading.span.kind == best.span.kind):
                continue
            if reading.coverage < best.coverage - 0.2:
                continue
            if reading.clause_coverage < 0.6 * best.clause_coverage and reading.coverage < best.coverage:
                continue  # a weaker clause is fine when the passage as a whole matches at least as well
            if best.span.kind not in ("who", "post") and unit_of(reading.value) != unit_of(best.value):
                continue  # 亩 against 亿元 is two facts, not one fact told two ways
            if not self._same_fact(question, best, reading):
                continue
            doc = reading.hit.chunk.doc_id
            if doc not in by_doc or reading.score > by_doc[doc].score:
                by_doc[doc] = reading
        values = {value_key(r.value) for r in by_doc.values()}
        if best.span.kind == "post":  # 石家庄高新区党工委副书记 and 高新区党工委副书记 are one post
            values = {v for v in values if not any(other != v and v.endswith(other) for other in values)}
        if len(values) < 2:
            return []
        for reading in readings:  # other articles stating one of these values date it too (2.8万亩: 2024-09 as well)
            doc = reading.hit.chunk.doc_id
            if doc not in by_doc and reading.span and reading.anchored and value_key(reading.value) in values:
                by_doc[doc] = reading
        chosen = sorted(by_doc.values(), key=lambda r: r.hit.chunk.date, reverse=True)
        return [
            {"value": r.value, "date": r.hit.chunk.date, "doc_id": r.hit.chunk.doc_id, "title": r.hit.chunk.title,
             "paragraph": r.hit.chunk.paragraph, "reading": r}
            for r in chosen
        ]

    @staticmethod
    def _same_fact(question: Question, best: Reading, other: Reading) -> bool:
        """Could two values be one fact reported differently, rather than two facts?

        Reports revise a figure (1000 → 1100亿元, 243 → 近300家) but do not multiply it; a figure
        dated to another year than the question's is another year's fact; and a name under another
        title (区长李争, 主任赵路新) holds another office."""
        if best.span.kind == "post":
            return True  # titles printed before the same name: the person's post, as each article had it
        if best.span.kind == "who":
            title = lambda r: r.hit.chunk.text[max(0, r.span.start - 2):r.span.start]  # noqa: E731
            return title(best) == title(other)
        if question.years:
            year = other.hit.chunk.year
            said = {int(y) for y in re.findall(r"((?:19|20)\d{2})年", resolve_relative(other.hit.chunk.text[other.sentence[0]:other.sentence[1]], year))}
            if said and not said & set(question.years):
                return False
        numbers = [float(m.group(0)) for m in (re.search(r"\d+(?:\.\d+)?", value_key(r.value)) for r in (best, other)) if m]
        return len(numbers) < 2 or max(numbers) <= 1.5 * min(numbers)

    @staticmethod
    def _sentence(reading: Reading) -> str:
        """A short answer sentence from the cited text: the clause(s) around the span, relative years resolved."""
        text = reading.hit.chunk.text
        start, end = reading.sentence
        if reading.span and reading.span.kind == "issuer":  # a signature line: say what it means
            dated = text[reading.span.end:end].strip()
            return f"由{reading.span.text}发布" + (f"（落款日期{dated}）。" if dated else "。")
        if reading.span:
            start, end = min(start, reading.span.start), max(end, reading.span.end)
            clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(text, start, reading.span.start)), default=start)
            ends = [m.start() for m in CLAUSE_BREAK.finditer(text, reading.span.end, end)]
            clause_end = ends[0] if ends else end
            if reading.span.end - clause_start < 12:  # too short to read alone: take the clause before too
                earlier = [m.end() for m in CLAUSE_BREAK.finditer(text, start, max(start, clause_start - 1))]
                clause_start = earlier[-1] if earlier else start
            start, end = clause_start, clause_end
        sentence = _balanced(text[start:end].strip().strip("□■▲"))
        year = reading.hit.chunk.year
        if year:  # 去年8月 → 去年8月（2023年8月）: the words as printed, then what they mean
            sentence = re.sub(r"(今年|去年|明年)(\d{1,2}月(?:\d{1,2}日)?)?",
                              lambda m: f"{m.group(0)}（{year + RELATIVE_YEAR[m.group(1)]}年{m.group(2) or ''}）", sentence)
        return sentence.rstrip("，,；;：:") + ("" if sentence.endswith(("。", "！", "？", "…")) else "。")
