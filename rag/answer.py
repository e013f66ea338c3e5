"""Pick the answer from retrieved passages: the exact span, its passage, conflicts, or "not found".

Libraries stop at retrieval; this step is what users judge. For each top passage it finds the
sentence that covers the question's keywords best (relative dates resolved against the article
date, so 今年 in a 2024 article matches 2024年), extracts the span the question asks for
(number with unit, date, name, list, contact, or the answering clause), re-ranks passages by how
well they answer, compares the values different articles give, and declines to answer when
the question names something (a place, a year, a company) that no good passage mentions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from jieba import posseg

from .chunking import Chunk
from .question import Keyword, Question
from .search import Hit
from .tokenizing import Tokenizer, normalize, normalize_with_map

_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;…]*[”’」』)）]*")
_CLAUSE = re.compile(r"[^，,。；;！？!?：:]+")
_CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:]")
_PREFIX = "近|约|超过|超|逾|达到|达|突破|共|累计|最高"
_UNIT = r"(?:余|多)?(?:万亿|亿|万|千|百)?(?:余|多)?(?:亿元|万元|亿美元|万美元|美元|元|家|个百分点|个平方公里|个|项|万亩|亩|平方米|平方公里|吨|台|人次|万人|人|万名|名|所|条|座|倍|%|批|次|户|辆|公里|米|件|款|部|套|届|天|小时|年|岁|级|英寸)?"
_NUMBER = re.compile(rf"(?:{_PREFIX})?(?<![\d.])\d+(?:\.\d+)?(?![\d.]|月|日|号|届)" + _UNIT + r"(?:以上|左右)?")
_CN_COUNT = re.compile(r"(?:近|约)?[一二三四五六七八九十两百千]+(?:大|个|项|家|条|批|次|类)|\d+大")
_ORDINAL = re.compile(r"第[一二三四五六七八九十百\d]+")
_DATE = re.compile(
    r"(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?(?:至\d{1,2}月)?|(?:今年|去年|明年|前年|后年)?\d{1,2}月(?:\d{1,2}日)?(?:至\d{1,2}日)?"
)
_LIST = re.compile(r"[^，,。；;：:、“”（）()]{1,18}(?:、[^，,。；;：:、“”（）()]{1,18})+(?:(?:和|及|以及)[^，,。；;：:、“”]{1,18})?|[^，,。；;：:、“”（）()的]{2,12}(?:和|与|及)[^，,。；;：:、“”（）()]{2,12}")
_QUOTED = re.compile(r"[“《「‘]([^”》」’]{1,30})[”》」’]")
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,6}省?[\u4e00-\u9fff]{2,6}市[\u4e00-\u9fff]{1,8}[路街道]\d+号")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<!\d)\d{7,12}(?!\d)")
_TITLE = re.compile(r"董事长|总经理|总裁|局长|区长|县长|市长|厅长|院长|部长|处长|主任|书记|专家|记者")
_SPEAKER = re.compile(
    r"(副|常务副)?(书记|主任|局长|总经理|董事长|负责人|区长|县长|市长|厅长|院长|专家|总裁|经理|委员|记者|主席|部长|处长|总监)\s*"
    r"([\u4e00-\u9fff]{2,3}?)(?=表示|说|介绍|指出|告诉|认为|强调|在|坦言|$|[，,。：:（(、])"
)
_CONTACT_WORDS = {"传真": ("传真",), "fax": ("传真",), "电话": ("电话",), "phone": ("电话",), "telephone": ("电话",),
                  "邮箱": ("@", "邮件"), "邮件": ("@", "邮件"), "email": ("@", "邮件"), "e-mail": ("@", "邮件"), "mail": ("@", "邮件")}
ANCHOR_SHARE = 0.08
NEIGHBOURS = 2  # passages either side in the same section that may name what a passage is about
PERIOD_WEIGHT = 0.3  # a figure for the part of the year asked for (上半年) over a whole-year one, and back
_HOW_MUCH = "多少|几|多大|多长|多高|多远"
_HOW_MUCH_EN = r"\bhow (?:large|big|long|far|much|many|high)\b|\bwhat (?:is|was|are|were) the\b"
_NAMING = r"叫什么|名称|称为|什么名字|什么称号|被称为|what is .* called|\bname\b"
# "…公告由哪个单位发布": a notice names its issuer in the signature at its end (单位 + 日期).
_ISSUER = re.compile(r"(?:哪个|哪家|什么|哪一?)(?:单位|部门|机关|机构)\w{0,3}?(?:发布|印发|发出|公布|下发|出台)|谁(?:发布|印发|发出|公布|下发)")
_SIGNATURE = re.compile(r"^([\u4e00-\u9fff]{2,24}?(?:办公室|办公厅|人民政府|委员会|管委会|局|厅|委|部|中心|院|社))(?:(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)?$")
_QUALIFIER = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}[省市])?(?:中国|国际|全国|省|市|区|县)?")
# "丁飞燕担任什么职务": the titles printed before the name (高新区党工委委员、管委会副主任丁飞燕).
_POST_QUESTION = re.compile(r"什么职务|何职|哪个职务|职务是|什么职位|担任什么|任什么职")
_POST_TITLE = re.compile(r"(?:主任|书记|局长|区长|县长|市长|厅长|院长|部长|处长|总经理|董事长|经理|主席|委员|总监|秘书长|负责人)$")
# Part of a year a figure covers; a question about 上半年 is not answered by 今年/年底 figures.
_PART_OF_YEAR = r"上半年|下半年|前三季度|第?[一二三四]季度|1[至-]\d{1,2}月"
_PERIOD = re.compile(rf"{_PART_OF_YEAR}|全年|今年|年底|年末|去年|(?:19|20)\d{{2}}年")
_RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2}
_YEAR_ONLY = re.compile(r"^(?:19|20)\d{2}年$")

# Units a question's words point at (…收入目标 → 亿元, 占地 → 亩, 企业 → 家).
_UNIT_HINTS = [
    (r"收入|产值|投资|资金|金额|营收|多少钱|亿元|万元|奖励|资助|贷款|经费|外资|花了|钱|额度|奖金", ("亿元", "万元", "元", "美元")),
    (r"面积|占地|亩|多大|占了多少地", ("亩", "平方米", "平方公里")),
    (r"比例|增长|增速|增幅|涨|多快|百分|%|占比|覆盖率|完成率|降低", ("%", "个百分点")),
    (r"企业|公司|家|药企", ("家",)),
    (r"全长|长度|多长|多远|公里|里程", ("公里", "米")),
    (r"专利", ("项", "件", "个")),
    (r"员工|人员|人数|工人|代表|多少人|多少名", ("人", "名")),
    (r"设备", ("台",)),
    (r"项目|平台|个|研究院|工作站|中心|基地|园区|方向|集群", ("个", "项", "家", "所", "座", "大")),
    (r"线|条", ("条",)),
]
_UNIT_HINTS_EN = [
    (r"revenue|output|investment|fund|value|yuan|money|loan|subsid|reward|spend", ("亿元", "万元", "元", "美元")),
    (r"\barea\b|acre|\bmu\b|how large|how big|\bsize\b", ("亩",)),
    (r"percent|share|growth|rate|ratio|coverage", ("%",)),
    (r"compan|firm|enterprise|business", ("家",)),
    (r"patent", ("项",)),
    (r"employee|worker|people|talent", ("人", "名")),
    (r"project|platform|drug|institute|station|cent(er|re)", ("个", "项", "家")),
    (r"line|route", ("条",)),
]


@dataclass
class Span:
    start: int  # offsets into the chunk text
    end: int
    text: str
    kind: str
    fit: int = 0  # 0 when its unit is the one the question asks for first (亩 for 占了多少地)


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


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return re.sub("今年|去年|明年|前年|后年", lambda m: f"{year + _RELATIVE_YEAR[m.group(0)]}年", text)


def sentences(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if text[m.start():m.end()].strip()]
    return spans or [(0, len(text))]


def value_key(value: str) -> str:
    """Compare values as numbers with units, ignoring 近/约/突破, width and digit grouping; and posts
    without the place in front (石家庄市鹿泉区委副书记 is 鹿泉区委副书记)."""
    key = re.sub(r"(以上|左右|余|多)", "", re.sub(rf"^({_PREFIX})", "", normalize(value)))
    return _QUALIFIER.sub("", key) if _POST_TITLE.search(key) else key


def _anchor_words(keyword: Keyword) -> list[str]:
    """What stands for an anchor: itself, a synonym, its leading part (远东 of 远东通信, 鹿泉 of 鹿泉区), or
    itself without the place or scope in front (市国资委 → 国资委, 石家庄市国际生物医药园 → 生物医药园).
    A trailing part alone names the kind of thing (通信, 生物) and would let any company stand in."""
    words = [keyword.word, *(w for w, credit in keyword.alternatives if credit > 0.5 or keyword.word.startswith(w))]
    core = _QUALIFIER.sub("", keyword.word)
    return words + [core] if core != keyword.word and len(core) >= 3 else words


def _unit_of(value: str) -> str:
    return re.sub(r"[\d.一二三四五六七八九十百千两]", "", value_key(value))


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
        self._pos = posseg.POSTokenizer(tokenizer._jieba)

    # Step 1: keyword coverage (IDF-weighted; synonyms and sub-words earn partial credit).
    def _weight(self, keyword: Keyword) -> float:
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

    # Step 2: candidate spans of the kind asked for, inside one sentence (offsets in its normalised form).
    def _is_name(self, word: str) -> bool:
        """A person's name, not a dictionary word that happens to follow a title (总书记|嘱托)."""
        flag = self._pos.word_tag_tab.get(word)
        return 2 <= len(word) <= 4 and (flag is None or flag.startswith("nr"))

    def _candidates(self, question: Question, norm: str) -> list[tuple[int, int, str]]:
        kind, raw = question.kind, normalize(question.raw)
        if _ISSUER.search(raw):
            return [(m.start(1), m.end(1), "issuer") for m in [_SIGNATURE.match(norm)] if m]
        if _POST_QUESTION.search(raw):
            return self._posts(question, norm)
        contact = next((words for key, words in _CONTACT_WORDS.items() if key in raw), None)
        if contact:
            if not any(word in norm for word in contact):
                return []  # a fax number does not answer a question about a telephone number
            pattern = _EMAIL if "@" in contact else _PHONE
            return [(m.start(), m.end(), "contact") for m in pattern.finditer(norm)]
        if kind == "number":
            if re.search("第几|排名|排第|rank", raw):
                return [(m.start(), m.end(), "ordinal") for m in _ORDINAL.finditer(norm)]
            found = [(m.start(), m.end(), "number") for m in _NUMBER.finditer(norm)
                     if not _YEAR_ONLY.match(re.sub(rf"^({_PREFIX})", "", m.group(0)))
                     and not re.fullmatch(r"(?:19|20)\d{2}", m.group(0))]  # a year is not an amount
            found += [(m.start(), m.end(), "number") for m in _CN_COUNT.finditer(norm)]
            return [c for c in found if norm[c[0]:c[1]] not in question.text]  # 8英寸 does not answer 8英寸…的年产能
        if kind == "date":
            return [(m.start(), m.end(), "date") for m in _DATE.finditer(norm) if m.group(0) not in question.text]
        if kind == "list":
            return [(m.start(), m.end(), "list") for m in _LIST.finditer(norm)]
        if kind == "where" and (m := _ADDRESS.search(norm)):
            return [(m.start(), m.end(), "place")]
        if kind == "who":
            titles = _TITLE.findall(raw)
            asked = list(_TITLE.finditer(raw))  # the title next to 谁 decides: 县委副书记、县长是谁 → 县长
            deputy = bool(asked) and raw[max(0, asked[-1].start() - 1):asked[-1].start()] == "副"
            if titles and not any(t in norm for t in titles):
                return []  # asked for the 局长, and this sentence names no 局长
            # 常务副主任 李君涛 does not answer "who is the 主任"; a title asked for must be the speaker's own.
            found = [(m.start(3), m.end(3), "who") for m in _SPEAKER.finditer(norm)
                     if self._is_name(m.group(3))
                     and (not titles or m.group(2) == asked[-1].group(0) and bool(m.group(1)) == deputy)]
            if not found:
                pos = 0
                for pair in self._pos.lcut(norm):
                    at = norm.find(pair.word, pos)
                    pos = at + len(pair.word)
                    if pair.flag in ("nr", "nrt") and self._is_name(pair.word) and pair.word not in self._pos.tokenizer.FREQ:
                        found.append((at, at + len(pair.word), "who"))
            return [c for c in found if norm[c[0]:c[1]] not in question.text]
        if kind == "what" and re.search(_NAMING, raw):
            return [(m.start(1), m.end(1), "what") for m in _QUOTED.finditer(norm) if m.group(1) not in question.text]
        return []

    @staticmethod
    def _posts(question: Question, norm: str) -> list[tuple[int, int, str]]:
        """The titles printed right before the person the question names, less those it already gives
        (高新区党工委委员、管委会副主任丁飞燕 asked as "党工委委员丁飞燕担任什么职务" → 管委会副主任)."""
        found = []
        for keyword in question.groups:
            for m in re.finditer(re.escape(keyword.word), norm) if 2 <= len(keyword.word) <= 4 else ():
                chain = re.split(r"[，,。；;：:（(“”\s]", norm[max(0, m.start() - 40):m.start()])[-1]
                items = chain.split("、")
                if not items or not _POST_TITLE.search(items[-1]):
                    continue
                new = [i for i, item in enumerate(items) if item and item not in question.text and _POST_TITLE.search(item)]
                if new:
                    start = m.start() - len("、".join(items[new[0]:]))
                    found.append((start, m.start(), "post"))
        return found

    @staticmethod
    def _unit_hints(question: Question) -> list[tuple[str, ...]]:
        """Units the question asks for, nearest to its question word first (…总投资是多少 → 亿元 before 个)."""
        if question.english:
            text = question.raw.lower()  # the question word leads: "How large is …"
            table, at = _UNIT_HINTS_EN, [m.end() for m in re.finditer(_HOW_MUCH_EN, text)] or [len(text)]
            reach = 40  # English spends about three letters on what Chinese says in one character
        else:
            asked = normalize(question.raw)  # a follow-up's own question word first ("同比增长了多少"), else the rewrite's
            text = asked if re.search(_HOW_MUCH, asked) else question.text
            text = re.sub("石家庄|国家|专家|大家|那个|这个|哪个|一个", lambda m: "_" * len(m.group(0)), text)
            table, at = _UNIT_HINTS, [m.start() for m in re.finditer(_HOW_MUCH, text)] or [len(text)]
            reach = 12
        rows = []
        for pattern, units in table:
            distances = [min(abs(m.end() - a) for a in at) for m in re.finditer(pattern, text)]
            if distances and min(distances) <= reach:
                rows.append((min(distances), units))
        return [units for _, units in sorted(rows, key=lambda r: r[0])]

    def _best_span(self, question: Question, text: str, start: int, end: int, year: int | None) -> tuple[Span | None, float]:
        """The candidate whose own clause covers the question best; (span, that clause's coverage)."""
        sentence = text[start:end]
        norm, origin = normalize_with_map(sentence)
        candidates = self._candidates(question, norm)
        if not candidates:
            return None, 0.0
        hints = self._unit_hints(question)
        clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(norm)]
        respectively = self._respectively(question, norm, candidates, normalize(text[max(0, start - 200):start]))

        def clause_coverage(candidate) -> float:
            c_start, c_end = next(((s, e) for s, e in clauses if s <= candidate[0] < e), (0, len(norm)))
            bare = (c_end - c_start) - (candidate[1] - candidate[0]) < 4  # "…发送至:" | "sjz…@163.com"
            if candidate[2] == "list" or bare:  # the clause before names what the items or the value are
                c_start = max((s for s, e in clauses if e <= c_start), default=c_start)
            clause = resolve_relative(norm[c_start:c_end], year)
            # Words that stand together in the question and in the clause (营业收入同比增长) add to plain coverage.
            together = sum(1 for p in question.phrases if p in clause) / len(question.phrases) if question.phrases else 0.0
            return self._coverage(question, clause, own_first=True) + 0.2 * together

        def unit_rank(candidate) -> int:
            """0 for the unit nearest the question word, 1 for the next …; len(hints) for a bare number
            (1100多万 石家庄人民: the unit may stand apart); len(hints) + 1 for another unit."""
            value = norm[candidate[0]:candidate[1]]
            if not hints or candidate[2] != "number":
                return 0
            matched = next((i for i, units in enumerate(hints) if any(u in value for u in units)), None)
            if matched is not None:
                return matched
            return len(hints) if re.search(r"[余多万亿千百]$", value) else len(hints) + 1

        asked_part = re.findall(_PART_OF_YEAR, question.text)

        def period_fit(candidate) -> int:
            """+1 when the period last named before the value is the part of the year asked for, -1 when
            it is another one or the whole year (今年有望…1300亿元 for 上半年), 0 when it does not matter."""
            if not asked_part or candidate[2] != "number":
                return 0
            named = [m.group(0) for m in _PERIOD.finditer(norm, 0, candidate[0])]
            return 0 if not named else 1 if named[-1] in asked_part else -1

        def rank(candidate) -> tuple:
            return (candidate is respectively, -unit_rank(candidate), round(clause_coverage(candidate) + PERIOD_WEIGHT * period_fit(candidate), 3), -candidate[0] / 1000)

        best = max(candidates, key=rank)
        if hints and unit_rank(best) > len(hints):
            return None, 0.0  # the question wants 亩 or 亿元, and this sentence has only other units
        s, e = origin[best[0]] + start, origin[best[1] - 1] + 1 + start
        return Span(s, e, text[s:e], best[2], unit_rank(best)), clause_coverage(best) + PERIOD_WEIGHT * period_fit(best)

    @staticmethod
    def _subjects(norm: str, at: int) -> list[str]:
        """The subjects listed in the clause before 分别 at ``at`` (A和B分别 → [A, B])."""
        clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(norm, 0, at)), default=0)
        return [s for s in re.split(r"和|与|及|、", norm[clause_start:at]) if s]

    def _respectively(self, question: Question, norm: str, candidates: list, before: str = "") -> tuple | None:
        """"A和B分别实现X、Y": the value in the position of the subject the question names. When the
        subjects are only "两大产业", they are the ones the sentence before listed (A和B分别…)."""
        at = norm.find("分别")
        after = [c for c in candidates if c[0] > at]
        if at < 0 or len(after) < 2:
            return None
        subjects = self._subjects(norm, at)
        if len(subjects) < 2 and (earlier := before.rfind("分别")) >= 0:
            subjects = self._subjects(before, earlier)
        for keyword in sorted(question.groups, key=lambda k: -k.weight):
            for i, subject in enumerate(subjects):
                if any(word in subject for word in keyword.words[:2]) and i < len(after):
                    return after[i]
        return None

    def _best_clause(self, question: Question, text: str, start: int, end: int, year: int | None) -> tuple[Span | None, float]:
        """For what/which/where questions without a typed span: the clause that covers the question best."""
        best, best_cov = None, 0.0
        clauses = [(m.start() + start, m.end() + start) for m in _CLAUSE.finditer(text[start:end])]
        for i, (s, e) in enumerate(clauses):
            window_end = clauses[i + 1][1] if i + 1 < len(clauses) and e - s < 14 else e
            clause = normalize(resolve_relative(text[s:window_end], year))
            cov = self._coverage(question, clause) + (0.3 if question.asked and question.asked in clause else 0.0)
            if cov > best_cov:
                best, best_cov = Span(s, window_end, text[s:window_end], "clause"), cov
        return best, best_cov

    def _anchored(self, question: Question, whole: str, context: str) -> bool:
        """Every distinctive name the question gives is in the passage or its context (title, headings,
        and for a passage opening with 这/该/其 the sentence it refers to)."""
        anchors = [k for k in question.groups if k.anchor and self.idf.get(k.word, self.default_idf) >= self.anchor_idf]
        text = whole + " " + context
        return all(any(w in text for w in _anchor_words(k)) for k in anchors)

    def _neighbours(self, hit: Hit, reach: int = NEIGHBOURS) -> str:
        """The passages next to this one in its article section: "在刘文富看来…" names the park two
        paragraphs up, "比如，…" continues what 市国资委 said just before."""
        if hit.row < 0 or hit.row >= len(self.chunks):
            return ""
        chunk = hit.chunk
        near = self.chunks[max(0, hit.row - reach):hit.row + reach + 1]
        return normalize(" ".join(c.text for c in near if c.doc_id == chunk.doc_id and c.heading == chunk.heading and c.kind == "body"))

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
            span, clause = self._best_span(question, chunk.text, start, end, year) if question.kind != "sentence" else (None, 0.0)
            if span is None and question.kind in ("what", "where", "list", "sentence") and coverage > 0:
                span, clause = self._best_clause(question, chunk.text, start, end, year)
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
        best = readings[0]
        confidence = 0.6 * best.coverage + 0.4 * best.clause_coverage
        naming = question.kind == "what" and re.search(_NAMING, normalize(question.raw))
        typed_required = question.kind in ("number", "date", "who") or bool(naming)
        if (confidence < self.min_confidence or not best.anchored or self._focus_absent(question, best)
                or (typed_required and (best.span is None or best.span.kind == "clause"))):
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
            if best.span.kind not in ("who", "post") and _unit_of(reading.value) != _unit_of(best.value):
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
            clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, start, reading.span.start)), default=start)
            ends = [m.start() for m in _CLAUSE_BREAK.finditer(text, reading.span.end, end)]
            clause_end = ends[0] if ends else end
            if reading.span.end - clause_start < 12:  # too short to read alone: take the clause before too
                earlier = [m.end() for m in _CLAUSE_BREAK.finditer(text, start, max(start, clause_start - 1))]
                clause_start = earlier[-1] if earlier else start
            start, end = clause_start, clause_end
        sentence = text[start:end].strip().strip("“”\"")
        year = reading.hit.chunk.year
        if year:  # 去年8月 → 去年8月（2023年8月）: the words as printed, then what they mean
            sentence = re.sub(r"(今年|去年|明年)(\d{1,2}月(?:\d{1,2}日)?)?",
                              lambda m: f"{m.group(0)}（{year + _RELATIVE_YEAR[m.group(1)]}年{m.group(2) or ''}）", sentence)
        return sentence.rstrip("，,；;：:") + ("" if sentence.endswith(("。", "！", "？", "…")) else "。")
