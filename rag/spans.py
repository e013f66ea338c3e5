"""Find the span a question asks for inside one sentence: a number with its unit, a date, a name,
a list, a contact, a post, a notice's issuer, or failing those the clause that answers.

Offsets are found in the sentence's normalised form (width, digit grouping) and mapped back to the
printed text. Which candidate wins is decided by the question: the unit nearest its question word
(…总投资是多少 → 亿元), the subject a "分别" list puts in its place, the part of the year it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .question import Question
from .tokenizing import normalize, normalize_with_map

_SENTENCE = re.compile(r"[^。！？!?；;]*[。！？!?；;…]*[”’」』)）]*")
_CLAUSE = re.compile(r"[^，,。；;！？!?：:]+")
CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:]")
_PREFIX = "近|约|超过|超|逾|达到|达|突破|共|累计|最高"
_UNIT = r"(?:余|多)?(?:万亿|亿|万|千|百)?(?:余|多)?(?:亿元|万元|亿美元|万美元|美元|元|家|个百分点|个平方公里|个|项|万亩|亩|平方米|平方公里|吨|台|人次|万人|人|万名|名|所|条|座|倍|%|批|次|户|辆|公里|米|件|款|部|套|届|天|小时|周年|年|岁|级|英寸)?"
_NUMBER = re.compile(rf"(?:{_PREFIX})?(?<![\d.])\d+(?:\.\d+)?(?![\d.]|月|日|号|届)" + _UNIT + r"(?:以上|左右)?")
_CN_COUNT = re.compile(r"(?:近|约)?[一二三四五六七八九十两百千]+(?:余|多)?(?:大|个|项|家|条|批|次|类)|\d+大")
_ORDINAL = re.compile(r"第[一二三四五六七八九十百\d]+")
_DATE = re.compile(
    r"(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?(?:至\d{1,2}月)?|(?:今年|去年|明年|前年|后年)?\d{1,2}月(?:\d{1,2}日)?(?:至\d{1,2}日)?"
)
_LIST = re.compile(r"(?:“[^”]{1,20}”){2,}|[^，,。；;：:、“”（）()]{1,18}(?:、[^，,。；;：:、“”（）()]{1,18})+(?:(?:和|及|以及)[^，,。；;：:、“”]{1,18})?|[^，,。；;：:、“”（）()的]{2,12}(?:和|与|及)[^，,。；;：:、“”（）()]{2,12}")
_QUOTED = re.compile(r"[“《「‘]([^”》」’]{1,30})[”》」’]")
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,6}省?[\u4e00-\u9fff]{2,6}市[\u4e00-\u9fff]{1,8}[路街道]\d+号")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<!\d)\d{7,12}(?!\d)")
_TITLE = re.compile(r"董事长|总经理|总裁|局长|区长|县长|市长|厅长|院长|部长|处长|主任|书记|专家|记者")
_SPEAKER = re.compile(
    r"(副|常务副)?(书记|主任|局长|总经理|董事长|负责人|区长|县长|市长|厅长|院长|专家|总裁|经理|委员|记者|主席|部长|处长|总监)\s*"
    r"([\u4e00-\u9fff]{2,3}?)(?=表示|说|介绍|指出|告诉|认为|强调|在|坦言|$|[，,。：:（(、])"
)
# "哪个部门/哪个园区": the name of an office or of a park, by how such names end.
_NAMED_BY_KIND = [
    (r"部门|单位|机构|机关", re.compile(r"([是在于由向到为和与及的将把对从]*)[\u4e00-\u9fff]{2,14}(?:委员会|办公室|管委会|局|厅|中心|政府)(?![长任])")),
    (r"园区|开发区", re.compile(r"([是在于由向到为和与及的将把对从]*)[\u4e00-\u9fff]{2,16}(?:高新区|开发区|经开区|产业园|园区)")),
]
_CONTACT_WORDS = {"传真": ("传真",), "fax": ("传真",), "电话": ("电话",), "phone": ("电话",), "telephone": ("电话",),
                  "邮箱": ("@", "邮件"), "邮件": ("@", "邮件"), "email": ("@", "邮件"), "e-mail": ("@", "邮件"), "mail": ("@", "邮件")}
PERIOD_WEIGHT = 0.3  # a figure for the part of the year asked for (上半年) over a whole-year one, and back
_HOW_MUCH = "多少|几|多大|多长|多高|多远"
_HOW_MUCH_EN = r"\bhow (?:large|big|long|far|much|many|high)\b|\bwhat (?:is|was|are|were) the\b"
NAMING = r"叫什么|名称|称为|什么名字|什么称号|被称为|what is .* called|\bname\b"
# "…公告由哪个单位发布": a notice names its issuer in the signature at its end (单位 + 日期).
_ISSUER = re.compile(r"(?:哪个|哪家|什么|哪一?)(?:单位|部门|机关|机构)\w{0,3}?(?:发布|印发|发出|公布|下发|出台)|谁(?:发布|印发|发出|公布|下发)")
_SIGNATURE = re.compile(r"^([\u4e00-\u9fff]{2,24}?(?:办公室|办公厅|人民政府|委员会|管委会|局|厅|委|部|中心|院|社))(?:(?:19|20)\d{2}年\d{1,2}月\d{1,2}日)?$")
QUALIFIER = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}[省市])?(?:中国|国际|全国|省|市|区|县)?")
# "丁飞燕担任什么职务": the titles printed before the name (高新区党工委委员、管委会副主任丁飞燕).
_POST_QUESTION = re.compile(r"什么职务|何职|哪个职务|职务是|什么职位|担任什么|任什么职")
POST_TITLE = re.compile(r"(?:主任|书记|局长|区长|县长|市长|厅长|院长|部长|处长|总经理|董事长|经理|主席|委员|总监|秘书长|负责人)$")
# Part of a year a figure covers; a question about 上半年 is not answered by 今年/年底 figures.
_PART_OF_YEAR = r"上半年|下半年|前三季度|第?[一二三四]季度|1[至-]\d{1,2}月"
_YEAR_END = r"年底|全年|年末"
_PERIOD = re.compile(rf"{_PART_OF_YEAR}|全年|今年|年底|年末|去年|(?:19|20)\d{{2}}年")
RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2}
_YEAR_ONLY = re.compile(r"^(?:19|20)\d{2}年$")

# Units a question's words point at (…收入目标 → 亿元, 占地 → 亩, 企业 → 家).
_UNIT_HINTS = [
    (r"收入|产值|投资|资金|金额|营收|多少钱|亿元|万元|奖励|资助|贷款|经费|外资|花了|钱|额度|奖金", ("亿元", "万元", "元", "美元")),
    (r"面积|占地|亩|多大|占了多少地", ("亩", "平方米", "平方公里")),
    (r"快出|高出|多出|快于|慢于|(?<!不)[高低]于|百分点", ("个百分点",)),  # a difference of rates: 高于全市36.5个百分点
    (r"比例|增长|增速|增幅|涨|多快|百分|%|占比|覆盖率|完成率|降低", ("%", "个百分点")),
    (r"企业|公司|家|药企", ("家",)),
    (r"全长|长度|多长|多远|公里|里程", ("公里", "米")),
    (r"专利", ("项", "件", "个")),
    (r"员工|人员|人数|工人|代表|多少人|多少名", ("人", "名")),
    (r"设备", ("台",)),
    (r"项目|平台|个|研究院|工作站|中心|基地|园区|方向|集群", ("个", "项", "家", "所", "座", "大")),
    (r"线|条", ("条",)),
    (r"周年|诞辰|成立|多少年|几年", ("周年", "年")),
]
_UNIT_HINTS_EN = [
    (r"revenue|output|investment|fund|value|yuan|money|loan|subsid|reward|spend|amount|cost", ("亿元", "万元", "元", "美元")),
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


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return re.sub("今年|去年|明年|前年|后年", lambda m: f"{year + RELATIVE_YEAR[m.group(0)]}年", text)


def sentences(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if text[m.start():m.end()].strip()]
    return spans or [(0, len(text))]


def value_key(value: str) -> str:
    """Compare values as numbers with units, ignoring 近/约/突破, width and digit grouping; and posts
    without the place in front (石家庄市鹿泉区委副书记 is 鹿泉区委副书记)."""
    key = re.sub(r"(以上|左右|余|多)", "", re.sub(rf"^({_PREFIX})", "", normalize(value)))
    return QUALIFIER.sub("", key) if POST_TITLE.search(key) else key


def unit_of(value: str) -> str:
    return re.sub(r"[\d.一二三四五六七八九十百千两]", "", value_key(value))


class SpanFinder:
    """Candidates of the kind asked for and the best of them; ``coverage(question, text)`` scores a clause."""

    def __init__(self, coverage: Callable[..., float], pos) -> None:
        self.coverage = coverage
        self._pos = pos  # jieba's part-of-speech tagger: is a word a person's name?

    def _is_name(self, word: str) -> bool:
        """A person's name, not a dictionary word that happens to follow a title (总书记|嘱托)."""
        flag = self._pos.word_tag_tab.get(word)
        lead = self._pos.word_tag_tab.get(word[:2], "nr") if len(word) > 2 else "nr"
        if not lead.startswith("nr") and lead[:1] in "vna":
            return False  # 采访时 (记者采访时表示) opens with a word, not a surname
        return 2 <= len(word) <= 4 and (flag is None or flag.startswith("nr"))

    def candidates(self, question: Question, norm: str) -> list[tuple[int, int, str]]:
        kind, raw = question.kind, normalize(question.raw)
        if _ISSUER.search(raw):
            return [(m.start(1), m.end(1), "issuer") for m in [_SIGNATURE.match(norm)] if m]
        if _POST_QUESTION.search(raw):
            return self._posts(question, norm)
        if kind == "what" and (named := next((p for asked, p in _NAMED_BY_KIND if re.search(asked, question.asked or "-")), None)):
            found = [(m.start() + len(m.group(1)), m.end(), "name") for m in named.finditer(norm)]  # 是|正定高新区
            # …冷链物流产业园项目是哪个园区的: a name sharing four characters with the question is its subject.
            return [c for c in found if not any(norm[i:i + 4] in question.text for i in range(c[0], c[1] - 3))]
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
        if kind == "what" and re.search(NAMING, raw):
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
                if not items or not POST_TITLE.search(items[-1]):
                    continue
                new = [i for i, item in enumerate(items) if item and item not in question.text and POST_TITLE.search(item)]
                if new:
                    start = m.start() - len("、".join(items[new[0]:]))
                    found.append((start, m.start(), "post"))
        return found

    @staticmethod
    def unit_hints(question: Question) -> list[tuple[str, ...]]:
        """Units the question asks for, nearest to its question word first (…总投资是多少 → 亿元 before 个)."""
        if question.english:
            text = question.raw.lower()  # the question word leads: "How large is …"
            table, asking = _UNIT_HINTS_EN, [(m.end(), m.end()) for m in re.finditer(_HOW_MUCH_EN, text)]
            reach = 40  # English spends about three letters on what Chinese says in one character
        else:
            asked = normalize(question.raw)  # a follow-up's own question word first ("同比增长了多少"), else the rewrite's
            text = asked if re.search(_HOW_MUCH, asked) else question.text
            text = re.sub("石家庄|国家|专家|大家|那个|这个|哪个|一个", lambda m: "_" * len(m.group(0)), text)
            table, asking = _UNIT_HINTS, [m.span() for m in re.finditer(_HOW_MUCH, text)]
            reach = 12
        asking = asking or [(len(text), len(text))]

        def distance(m: re.Match) -> int:  # characters between a word and the question word, before or after it
            return min(s - m.end() if m.end() <= s else m.start() - e if m.start() >= e else 0 for s, e in asking)

        rows = []
        for pattern, units in table:
            distances = [distance(m) for m in re.finditer(pattern, text)]
            if distances and min(distances) <= reach:
                rows.append((min(distances), units))
        # The word right before the question word decides (…产业园项目总投资多少 → 亿元, not 个).
        nearest = min((d for d, _ in rows), default=0)
        return [units for d, units in sorted(rows, key=lambda r: r[0]) if d <= nearest + (9 if question.english else 2)]

    def best(self, question: Question, text: str, start: int, end: int, year: int | None) -> tuple[Span | None, float]:
        """The candidate whose own clause covers the question best; (span, that clause's coverage)."""
        sentence = text[start:end]
        norm, origin = normalize_with_map(sentence)
        candidates = self.candidates(question, norm)
        if not candidates:
            return None, 0.0
        hints = self.unit_hints(question)
        clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(norm)]
        respectively = self._respectively(question, norm, candidates, text[max(0, start - 200):start])

        def clause_coverage(candidate) -> float:
            c_start, c_end = next(((s, e) for s, e in clauses if s <= candidate[0] < e), (0, len(norm)))
            bare = (c_end - c_start) - (candidate[1] - candidate[0]) < 4  # "…发送至:" | "sjz…@163.com"
            if candidate[2] == "name":  # an office or park stands in a sentence that says what it does
                c_start, c_end = 0, len(norm)
            if candidate[2] == "list" or bare:  # the clause before names what the items or the value are
                c_start = max((s for s, e in clauses if e <= c_start), default=c_start)
            clause = resolve_relative(norm[c_start:c_end], year)
            # Words that stand together in the question and in the clause (营业收入同比增长) add to plain coverage.
            together = sum(1 for p in question.phrases if p in clause) / len(question.phrases) if question.phrases else 0.0
            return self.coverage(question, clause, own_first=True) + 0.2 * together

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
        asked_whole = not asked_part and bool(re.search(_YEAR_END, question.text))

        def period_fit(candidate) -> int:
            """+1 when the period last named before the value is the one asked for, -1 when it is another
            (今年有望…1300亿元 for 上半年; 上半年…662.8亿元 for 年底), 0 when it does not matter."""
            if not (asked_part or asked_whole) or candidate[2] != "number":
                return 0
            named = [m.group(0) for m in _PERIOD.finditer(norm, 0, candidate[0])]
            if not named:
                return 0
            if asked_whole:
                return 1 if re.fullmatch(_YEAR_END, named[-1]) else -1 if re.fullmatch(_PART_OF_YEAR, named[-1]) else 0
            return 1 if named[-1] in asked_part else -1

        def rank(candidate) -> tuple:
            return (period_fit(candidate), candidate is respectively, -unit_rank(candidate), round(clause_coverage(candidate), 3), -candidate[0] / 1000)

        best = max(candidates, key=rank)
        if hints and unit_rank(best) > len(hints):
            return None, 0.0  # the question wants 亩 or 亿元, and this sentence has only other units
        s, e = origin[best[0]] + start, origin[best[1] - 1] + 1 + start
        return Span(s, e, text[s:e], best[2], unit_rank(best)), clause_coverage(best) + PERIOD_WEIGHT * period_fit(best)

    @staticmethod
    def _subjects(norm: str, at: int) -> list[str]:
        """The subjects listed in the clause before 分别 at ``at`` (A和B分别 → [A, B])."""
        clause_start = max((m.end() for m in CLAUSE_BREAK.finditer(norm, 0, at)), default=0)
        return [s for s in re.split(r"和|与|及|、", norm[clause_start:at]) if s]

    def _respectively(self, question: Question, norm: str, candidates: list, before: str = "") -> tuple | None:
        """"A和B分别实现X、Y": the value in the position of the subject the question names. When the
        subjects are only "两大产业", they are the ones the text ``before`` listed (A和B分别…)."""
        at = norm.find("分别")
        after = [c for c in candidates if c[0] > at]
        if at < 0 or len(after) < 2:
            return None
        subjects = self._subjects(norm, at)
        if len(subjects) < 2 and (earlier := (before := normalize(before)).rfind("分别")) >= 0:
            subjects = self._subjects(before, earlier)
        for keyword in sorted(question.groups, key=lambda k: -k.weight):
            for i, subject in enumerate(subjects):
                if any(word in subject for word in keyword.words[:2]) and i < len(after):
                    return after[i]
        return None

    def clause(self, question: Question, text: str, start: int, end: int, year: int | None) -> tuple[Span | None, float]:
        """For what/which/where questions without a typed span: the clause that covers the question best."""
        best, best_cov = None, 0.0
        clauses = [(m.start() + start, m.end() + start) for m in _CLAUSE.finditer(text[start:end])]
        for i, (s, e) in enumerate(clauses):
            window_end = clauses[i + 1][1] if i + 1 < len(clauses) and e - s < 14 else e
            clause = normalize(resolve_relative(text[s:window_end], year))
            cov = self.coverage(question, clause) + (0.3 if question.asked and question.asked in clause else 0.0)
            if cov > best_cov:
                best, best_cov = Span(s, window_end, text[s:window_end], "clause"), cov
        return best, best_cov
