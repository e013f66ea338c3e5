"""Pick the answer from retrieved passages: the exact span, its passage, conflicts, or "not found".

Libraries stop at retrieval; this step is what users judge. For each top passage it finds the
sentence that covers the question's keywords best (relative dates resolved against the article
date, so 今年 in a 2024 article matches 2024年), extracts the span the question asks for
(number with unit, date, name, list, place), re-ranks passages by how well they answer, and
compares the values that different articles give for the same question.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from jieba import posseg

from .question import Question
from .search import Hit
from .tokenizing import Tokenizer, normalize, normalize_with_map

_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;…]*[”’」』)）]*")
_CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:]")
_UNIT = r"(?:万亿|亿|万|千|百)?(?:余|多)?(?:亿元|万元|元|家|个百分点|个|项|万亩|亩|平方米|平方公里|吨|台|人次|人|名|所|条|座|倍|%|批|次|户|辆|公里|米|件|款|部|套|届|天|小时|分钟|年|岁|级)?"
_NUMBER = re.compile(r"(?:近|约|超过|超|逾|达到|达|突破|共|累计|最高)?(?<![\d.])\d+(?:\.\d+)?(?![\d.]|月|日|号)" + _UNIT + r"(?:以上|左右)?")
_ORDINAL = re.compile(r"第[一二三四五六七八九十百\d]+")
_DATE = re.compile(
    r"(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?(?:至\d{1,2}月)?|(?:今年|去年|明年|前年|后年)?\d{1,2}月(?:\d{1,2}日)?(?:至\d{1,2}日)?|今年|去年|明年|前年|年底|年内"
)
_LIST = re.compile(r"[^，,。；;：:、“”]{1,16}(?:、[^，,。；;：:、“”]{1,16}){2,}(?:等[^，,。；;]{0,10})?")
_QUOTED = re.compile(r"[“《「]([^”》」]{2,30})[”》」]")
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,6}省?[\u4e00-\u9fff]{2,6}市[\u4e00-\u9fff]{1,8}[路街道]\d+号")
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?<!\d)\d{7,12}(?!\d)")
_RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2}
_YEAR_ONLY = re.compile(r"^(?:19|20)\d{2}年$")

# Units a question's words point at (鹿泉区…收入目标 → 亿元, 占地 → 亩, 企业 → 家).
_UNIT_HINTS = [
    (r"收入|产值|投资|资金|金额|营收|目标|规模|多少钱|亿元|奖励", ("亿元", "万元", "元")),
    (r"面积|占地|亩|多大", ("亩", "平方米", "平方公里")),
    (r"企业|公司|家|药企", ("家",)),
    (r"比例|增长|增速|百分|%|占比", ("%", "个百分点")),
    (r"项目|平台|个", ("个", "项")),
    (r"专利", ("项",)),
    (r"人才|员工|人员|人数|代表", ("人", "名")),
    (r"设备", ("台",)),
    (r"线|条", ("条",)),
]
# The same idea for English questions, read from the raw question.
_UNIT_HINTS_EN = [
    (r"revenue|output|investment|fund|target|value|yuan|money", ("亿元", "万元", "元")),
    (r"area|acre|\bmu\b|size", ("亩",)),
    (r"compan|firm|enterprise|business", ("家",)),
    (r"percent|share|growth|rate|ratio", ("%",)),
    (r"project|platform", ("个", "项")),
    (r"patent", ("项",)),
    (r"employee|worker|people|talent", ("人", "名")),
    (r"line|route", ("条",)),
]


@dataclass
class Span:
    start: int  # offsets into the chunk text
    end: int
    text: str
    kind: str


@dataclass
class Reading:
    """How well one passage answers the question."""

    hit: Hit
    coverage: float = 0.0
    sentence: tuple[int, int] = (0, 0)
    span: Span | None = None
    score: float = 0.0

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


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return re.sub("今年|去年|明年|前年|后年", lambda m: f"{year + _RELATIVE_YEAR[m.group(0)]}年", text)


def sentences(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start() and text[m.start():m.end()].strip()]
    return spans or [(0, len(text))]


def _value_key(value: str) -> str:
    """Compare values as numbers with units, ignoring 近/约/突破 and width."""
    norm = normalize(value)
    norm = re.sub(r"^(近|约|超过|超|逾|达到|达|突破|共|累计|最高)", "", norm)
    return re.sub(r"(以上|左右|余|多)", "", norm)


class Answerer:
    """Callable: (question, hits) → :class:`Answer`. ``min_confidence`` is calibrated on the gold set."""

    def __init__(self, tokenizer: Tokenizer, idf: dict[str, float], min_confidence: float = 0.45, depth: int = 10) -> None:
        self.tokenizer = tokenizer
        self.idf = idf
        self.default_idf = max(idf.values(), default=5.0)
        self.min_confidence = min_confidence
        self.depth = depth
        self._pos = posseg.POSTokenizer(tokenizer._jieba)

    # Step 1: keyword coverage of a sentence (IDF-weighted; sub-words earn partial credit).
    def _coverage(self, question: Question, text: str, context: str = "") -> float:
        total = found = 0.0
        for keyword in question.groups:
            weight = max(self.idf.get(w, self.default_idf if w == keyword.word else 0.0) for w in keyword.words)
            if re.fullmatch(r"(19|20)\d{2}", keyword.word):
                weight *= 2  # a year named in the question must match
            total += weight
            credit = 1.0 if keyword.word in text else 0.7 if keyword.word in context else 0.0
            for word, alternative in keyword.alternatives:
                if credit >= alternative:
                    break
                if word in text:
                    credit = alternative
                elif word in context:
                    credit = max(credit, 0.7 * alternative)
            found += credit * weight
        return found / total if total else 0.0

    # Step 2: the span the question asks for, inside one sentence.
    def _span(self, question: Question, text: str, start: int, end: int, matched_at: list[int]) -> Span | None:
        sentence = text[start:end]
        norm, origin = normalize_with_map(sentence)
        candidates: list[tuple[int, int, str]] = []  # (start, end) in norm, kind
        kind = question.kind
        if kind == "number":
            ordinal = re.search("第几|排名|排第", question.text)
            pattern = _ORDINAL if ordinal else _NUMBER
            for m in pattern.finditer(norm):
                if not ordinal and _YEAR_ONLY.match(m.group(0).lstrip("近约超过逾达到突破共累计最高")):
                    continue
                candidates.append((m.start(), m.end(), "number"))
            if not candidates and re.search("传真|电话|号码|邮箱|邮件|email|fax|phone", question.raw, re.I):
                candidates = [(m.start(), m.end(), "contact") for m in _CONTACT.finditer(norm)]
        elif kind == "date":
            candidates = [(m.start(), m.end(), "date") for m in _DATE.finditer(norm)]
        elif kind == "list":
            candidates = [(m.start(), m.end(), "list") for m in _LIST.finditer(norm)]
        elif kind in ("who", "what", "where"):
            if re.search("传真|电话|号码|邮箱|邮件|email|fax|phone|mail", question.raw, re.I):
                candidates = [(m.start(), m.end(), "contact") for m in _CONTACT.finditer(norm)]
            elif kind == "where" and (m := _ADDRESS.search(norm)):
                candidates = [(m.start(), m.end(), "place")]
            else:
                wanted = {"who": ("nr", "nrt"), "where": ("ns",), "what": ("nt", "nz", "nr")}[kind]
                pos = 0
                for pair in self._pos.lcut(norm):
                    at = norm.find(pair.word, pos)
                    pos = at + len(pair.word)
                    if pair.flag in wanted and pair.word not in question.text and len(pair.word) > 1:
                        candidates.append((at, at + len(pair.word), kind))
                if kind == "what" and not candidates:
                    candidates = [(m.start(1), m.end(1), "what") for m in _QUOTED.finditer(norm) if m.group(1) not in question.text]
        if not candidates:
            return None
        candidates = [c for c in candidates if normalize(norm[c[0]:c[1]]) not in question.text or c[2] == "list"] or candidates
        hints = self._unit_hints(question)

        def rank(candidate: tuple[int, int, str]) -> tuple[int, float]:
            value = norm[candidate[0]:candidate[1]]
            unit_ok = 0 if not hints or any(value.endswith(u) or (u in value) for u in hints) else 1
            # Closest to where the question's keywords sit, preferring spans after them.
            distance = min((abs(candidate[0] - a) + (0 if candidate[0] >= a else 5) for a in matched_at), default=0)
            return unit_ok, distance

        best = min(candidates, key=rank)
        best = self._respectively(question, norm, candidates, best)
        s, e = origin[best[0]] + start, origin[best[1] - 1] + 1 + start
        return Span(s, e, text[s:e], best[2])

    def _respectively(self, question: Question, norm: str, candidates: list, best: tuple) -> tuple:
        """"A和B分别实现X、Y": the value in the position of the subject the question names."""
        at = norm.find("分别")
        after = [c for c in candidates if c[0] > at]
        if at < 0 or len(after) < 2 or best not in after:
            return best
        clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(norm, 0, at)), default=0)
        subjects = [s for s in re.split(r"和|与|及|、", norm[clause_start:at]) if s]
        for keyword in question.groups:
            for i, subject in enumerate(subjects):
                if any(word in subject for word in keyword.words[:1]) and i < len(after):
                    return after[i]
        return best

    def _unit_hints(self, question: Question) -> tuple[str, ...]:
        table, text = (_UNIT_HINTS_EN, question.raw.lower()) if question.english else (_UNIT_HINTS, question.text)
        for pattern, units in table:
            if re.search(pattern, text):
                return units
        return ()

    def read(self, question: Question, hit: Hit) -> Reading:
        chunk = hit.chunk
        year = int(chunk.date[:4]) if chunk.date[:4].isdigit() else None
        context = normalize(resolve_relative(chunk.context, year))
        best = Reading(hit)
        for start, end in sentences(chunk.text):
            resolved = normalize(resolve_relative(chunk.text[start:end], year))
            coverage = self._coverage(question, resolved, context)
            if coverage == 0:
                continue
            norm = normalize(chunk.text[start:end])
            matched = [m.start() for k in question.groups for word in k.words[:1] for m in re.finditer(re.escape(word), norm)]
            span = self._span(question, chunk.text, start, end, matched) if question.kind != "sentence" else None
            score = coverage + (0.15 if span else 0.0)
            if score > best.score:
                best = Reading(hit, coverage, (start, end), span, score)
        # Keywords spread over neighbouring sentences of the passage count too.
        whole = self._coverage(question, normalize(resolve_relative(chunk.text, year)), context)
        best.coverage = 0.5 * best.coverage + 0.5 * whole
        best.score = best.coverage + (0.15 if best.span else 0.0)
        return best

    # Step 3: re-rank by answer quality, detect conflicting values, decide whether to answer.
    def __call__(self, question: Question, hits: list[Hit], top_k: int = 5) -> Answer:
        if not hits:
            return Answer(None, "not_found")
        top_fused = hits[0].score
        readings = [self.read(question, hit) for hit in hits[: max(self.depth, top_k)]]
        for rank, reading in enumerate(readings):
            retrieval = reading.hit.score / top_fused if top_fused else 0.0
            reading.score = 0.65 * reading.score + 0.35 * retrieval
        readings.sort(key=lambda r: -r.score)
        best = readings[0]
        confidence = best.coverage
        if best.hit.dense_score:
            confidence = 0.75 * best.coverage + 0.25 * max(0.0, (best.hit.dense_score - 0.75) / 0.15)
        if confidence < self.min_confidence or (question.kind != "sentence" and best.span is None and best.coverage < 0.8):
            return Answer(None, "not_found", readings[:top_k], confidence=confidence)

        conflict = self._conflict(question, readings) if question.kind in ("number", "date") and best.span else []
        cited = readings[:top_k]
        for reading in readings[top_k:]:
            if any(reading is c["reading"] for c in conflict):
                cited.append(reading)
        if conflict:
            parts = [f"{c['date'] or '日期不详'}《{c['title']}》：{c['value']}" for c in conflict]
            text = "各文章说法不一（按日期从新到旧）：" + "；".join(parts) + "。"
            return Answer(text, "conflict", cited, conflict[0]["value"], [{k: v for k, v in c.items() if k != "reading"} for c in conflict], confidence)
        return Answer(self._sentence(best), "answered", cited, best.value, [], confidence)

    def _conflict(self, question: Question, readings: list[Reading]) -> list[dict]:
        """Different values for the same question from different articles, newest first."""
        best = readings[0]
        units = re.sub(r"[\d.]", "", _value_key(best.value or ""))
        by_doc: dict[str, Reading] = {}
        for reading in readings[:8]:
            if not reading.span or reading.coverage < max(0.6, best.coverage - 0.12):
                continue
            if re.sub(r"[\d.]", "", _value_key(reading.value)) != units:
                continue
            doc = reading.hit.chunk.doc_id
            if doc not in by_doc or reading.score > by_doc[doc].score:
                by_doc[doc] = reading
        values = {_value_key(r.value) for r in by_doc.values()}
        if len(by_doc) < 2 or len(values) < 2:
            return []
        chosen = sorted(by_doc.values(), key=lambda r: r.hit.chunk.date, reverse=True)
        return [
            {"value": r.value, "date": r.hit.chunk.date, "doc_id": r.hit.chunk.doc_id, "title": r.hit.chunk.title,
             "paragraph": r.hit.chunk.paragraph, "reading": r}
            for r in chosen
        ]

    @staticmethod
    def _sentence(reading: Reading) -> str:
        """A short answer sentence from the cited text: the clause(s) around the span, relative years resolved."""
        text = reading.hit.chunk.text
        start, end = reading.sentence
        if reading.span:
            clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, start, reading.span.start)), default=start)
            ends = [m.start() for m in _CLAUSE_BREAK.finditer(text, reading.span.end, end)]
            clause_end = ends[0] if ends else end
            if reading.span.end - clause_start < 12:  # too short to read alone: take the clause before too
                earlier = [m.end() for m in _CLAUSE_BREAK.finditer(text, start, max(start, clause_start - 1))]
                clause_start = earlier[-1] if earlier else start
            start, end = clause_start, clause_end
        sentence = text[start:end].strip().strip("“”\"")
        year = int(reading.hit.chunk.date[:4]) if reading.hit.chunk.date[:4].isdigit() else None
        if year:
            sentence = re.sub("今年|去年|明年", lambda m: f"{m.group(0)}（{year + _RELATIVE_YEAR[m.group(0)]}年）", sentence)
        return sentence.rstrip("，,；;：:") + ("" if sentence.endswith(("。", "！", "？", "…")) else "。")
