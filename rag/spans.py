"""Spans and values: sentence bounds, relative years, comparing values, and reader spans snapped
to whole numbers and dates.

Why rules here: a model proposes the span, but "1100亿" cut from "1100亿元", 今年 in a 2024
article, and 突破1100亿元 vs 1100亿元 being the same value are matters of notation, not of reading.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import replace

import cn2an

from .reader.features import Span
from .tokenizing import normalize

# A quotation with no full stop in it ("来到正定县,一切都好办;投资正定县,肯定大发展") is one piece of its sentence.
_SENTENCE = re.compile(r"(?:“[^“”。！？!?]{0,80}”|「[^「」。！？!?]{0,80}」|[^。！？!?；;])*[。！？!?；;…]*[”’」』)）]*")
CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:]")
_PREFIX = "近|约|超过|超|逾|达到|达|突破|共|累计|最高"
# 大 last: "6大主攻方向", "四大产业" count things; 年 before it keeps "2024年大…" a year.
_UNITS = ("亿元|万元|亿美元|万美元|美元|元|家|个百分点|个平方公里|个|项|万亩|亩|平方米|平方公里|吨|台|人次|万人|人|万名|名|所|条|"
          "座|倍|%|批|次|户|辆|公里|米|件|款|部|套|届|天|小时|周年|年|岁|级|英寸|大")
_MAGNITUDE = r"(?:余|多)?(?:万亿|亿|万|千|百)?(?:余|多)?"
_UNIT = rf"{_MAGNITUDE}(?:{_UNITS})?"
# Chinese numerals count (四大, 两个) and rank (第七) as digits do; unlike digits they need a unit or
# 第, or every 一 of 一体化 would be a figure.
_CN = "零一二三四五六七八九十百千两"
_CN_NUMERAL = re.compile(rf"(?<=第)[{_CN}]+|(?<![{_CN}])[{_CN}]+(?={_MAGNITUDE}(?:{_UNITS}))")
_DATE = re.compile(
    r"(?:19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?(?:至\d{1,2}月)?|(?:今年|去年|明年|前年|后年)?\d{1,2}月(?:\d{1,2}日)?(?:至\d{1,2}日)?"
)
QUALIFIER = re.compile(r"^(?:[\u4e00-\u9fff]{2,3}[省市])?(?:中国|国际|全国|省|市|区|县)?")
_POSTS = ("主任|书记|局长|区长|县长|市长|省长|镇长|乡长|厅长|院长|部长|处长|科长|司长|所长|站长|总经理|董事长|经理|主席|委员|"
          "总监|秘书长|负责人|馆长|校长|行长|社长|会长|理事长|主编|总编辑|总裁|队长|组长")
POST_TITLE = re.compile(rf"(?:{_POSTS})$")
_ASKED_POST = re.compile(rf"(副)?(?:{_POSTS})(?=是谁|是哪位|为谁)|(?<=谁是|谁任)[^，,。？?]*?(副)?(?:{_POSTS})")
_POST_BEFORE = re.compile(rf"(副)?(?:{_POSTS})\s*$")
RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2, "过去一年": -1}  # a report's 过去一年 is the year before it
_RELATIVE = re.compile("|".join(sorted(RELATIVE_YEAR, key=len, reverse=True)))
# A figure with its unit, without the words before it (突破, 近): what a cut-off span is completed to.
_QUANTITY = re.compile(rf"(?:(?<![\d.])\d+(?:\.\d+)?|(?<![{_CN}])[{_CN}]+(?={_MAGNITUDE}(?:{_UNITS}))){_UNIT}(?:以上|左右)?"
                       rf"|第\d+|第[{_CN}]+")


def asked_post(question: str) -> bool | None:
    """Whether a who-question asks for a deputy (谁是副馆长 → True; 管委会主任是谁 → False); None when it
    asks for no post."""
    match = _ASKED_POST.search(question)
    return None if match is None else bool(match.group(1) or match.group(2))


_ASKED_OFFICE = re.compile(rf"[\u4e00-\u9fff]{{0,2}}[会委局厅办院部府](?:常务)?(?:副)?(?:{_POSTS})(?=是谁|是哪位|为谁)")


def asked_office(question: str) -> str | None:
    """The post a who-question asks for, with the body it belongs to (石家庄高新区管委会主任是谁 → 管委会主任);
    None when it asks for no post or names no body (鹿泉区区长是谁: 区长 alone is printed of every district)."""
    match = _ASKED_OFFICE.search(question)
    return match.group(0) if match else None


def post_before(text: str, start: int) -> bool | None:
    """Whether the post title printed right before ``start`` (常务副主任李君涛) is a deputy's; None when
    no post title stands there (within the clause)."""
    clause = text[max((m.end() for m in CLAUSE_BREAK.finditer(text, max(0, start - 16), start)), default=max(0, start - 16)):start]
    match = _POST_BEFORE.search(clause)
    return None if match is None else bool(match.group(1))


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return _RELATIVE.sub(lambda m: f"{year + RELATIVE_YEAR[m.group(0)]}年", text)


_FULL_SENTENCE_END = re.compile(r"[。！？!?]")


# Words that make what follows them a plan or a target, not an outcome (力争…保持在30%以上, 预计年底将突破).
_PLANNED = re.compile("目标|力争|争取|计划|预计|有望|确保|规划")


def planned(text: str) -> bool:
    """``text`` speaks of a plan or target (what the words after it say is aimed at, not achieved)."""
    return bool(_PLANNED.search(text))


# Asked of a figure: a target (目标, 计划, 预期, 拟安排) or an outcome (实际, 截至, 年末, 增长了多少); printed
# before a figure in its sentence, the words of a plan (预期目标是：, 拟安排, 今年要, 力争) make it a target.
_ASKS_TARGET = re.compile(r"目标|计划|(?<![于出])预期|预计|拟|力争|争取|规划|安排")
_ASKS_OUTCOME = re.compile(r"实际|截至|截止|年末|年底|(?:增长|增加|下降|减少|达到|完成|实现|提高|上升|突破|退出)了")
_TARGET_BEFORE = re.compile(rf"{_PLANNED.pattern}|(?<![于出])预期|拟|(?<![主重需只])要(?!求)|安排")
_DONE_BEFORE = re.compile(r"了|已|累计|以来|同比|比上年|较上年|过去|刚刚|一年来|五年来|(?<!力争|确保|争取|计划|预计|有望)(?:实现|达到)")


def figure_kind_asked(question: str) -> str | None:
    """"target" or "outcome" when the question asks for one of them (2015年实际新增就业多少 → outcome), else None."""
    target, outcome = bool(_ASKS_TARGET.search(question)), bool(_ASKS_OUTCOME.search(question))
    return "target" if target and not outcome else "outcome" if outcome and not target else None


def figure_kind(text: str, start: int) -> str | None:
    """Whether the figure at ``start`` is a target or an outcome (None: nothing says). The nearest word
    before it in its sentence decides: of a plan (预期目标是：, 拟安排, 力争) a target, of a thing done (了,
    已, 累计, 同比, 实现) an outcome (总投资62亿元，计划…，目前已完成投资34.2亿元 is done). A sentence with
    neither is a target when it speaks of this year (今年) or its passage spoke of a plan before it (a
    report's list of this year's tasks: 今年要…。…完成造林1亿亩以上)."""
    begin = full_sentence(text, start)[0]
    marks = [(m.start(), "target") for m in _TARGET_BEFORE.finditer(text, begin, start)]
    marks += [(m.start(), "outcome") for m in _DONE_BEFORE.finditer(text, begin, start)]
    if marks:
        return max(marks)[1]
    return "target" if "今年" in text[begin:start] or _TARGET_BEFORE.search(text, 0, begin) else None


def of_kind(text: str, span: Span, kind: str) -> Span | None:
    """A span holding several figures cut to the last one of ``kind`` (今年计划投资62亿元,…,目前已完成投资34.2亿元
    asked what was spent → 34.2亿元); None when it holds no such figure besides its first."""
    figures = [m for m in _QUANTITY.finditer(text, span.start, span.end) if m.start() > span.start]
    fitting = [m for m in figures if figure_kind(text, m.start()) == kind]
    if not fitting:
        return None
    form = fitting[-1]
    return replace(span, start=form.start(), end=form.end(), text=form.group(0))


# A year a period starts from (自2021年启动建设以来, 2020年以来, 从2019年起).
_SINCE = re.compile(r"(?:自|从)((?:19|20)\d{2})年[^，,。；;]{0,20}?(?:以来|至今|起)|((?:19|20)\d{2})年(?:以来|至今)")


def years_said(text: str, start: int, end: int, year: int | None) -> set[int]:
    """The years named by the sentence holding ``text[start:end]`` (今年 resolved against ``year``), or,
    when it names none, by the whole sentence it is a ；-joined part of (2022年，营业收入16.5亿元；净利润1.9亿元).
    A year before ``year`` that a period starts from is not the figure's (a 2023 article's 自2021年启动建设
    以来…排名第八 is 2023's rank); 今年以来 is still this year's."""
    def named(part: str) -> set[int]:
        part = resolve_relative(part, year)
        if year:
            part = _SINCE.sub(lambda m: "" if int(m.group(1) or m.group(2)) < year else m.group(0), part)
        return {int(y) for y in re.findall(r"((?:19|20)\d{2})年", part)}

    return _said_around(text, start, end, named)


def full_sentence(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """The whole sentence holding ``text[start:end]``, from the last 。！？ before it through the first
    after it (:func:`sentences` also splits at ；)."""
    begin = max((m.end() for m in _FULL_SENTENCE_END.finditer(text, 0, start)), default=0)
    stop = next((m.end() for m in _FULL_SENTENCE_END.finditer(text, start if end is None else end)), len(text))
    return begin, stop


def _said_around(text: str, start: int, end: int, said: Callable[[str], set]) -> set:
    own = next(((a, b) for a, b in sentences(text) if a <= start < b), (start, end))
    if found := said(text[own[0]:own[1]]):
        return found
    begin, stop = full_sentence(text, start, end)
    return said(text[begin:stop])


_NUMBER = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_PERIOD = re.compile(rf"(?P<half>[上下])半年|(?:前|头)(?P<months>{_NUMBER})个月|(?P<first>{_NUMBER})月?(?:至|到|-|－|~|～|—)(?P<last>{_NUMBER})月"
                     rf"|(?P<upto>前)?(?:第)?(?P<quarter>[一二三四1-4])季度")


def periods(text: str) -> set[tuple[int, int]]:
    """The parts of a year a text names, as (first month, last month): 上半年, 前七个月, 头7个月, 1至6月 and
    1月至6月, 三季度, 前三季度. Why: a half-year's figure and the year's forecast often share a passage,
    and only the words say which one was asked (2024年上半年…营业收入 against 预计年底突破…)."""
    found = set()
    for match in _PERIOD.finditer(text):
        if match["half"]:
            found.add((1, 6) if match["half"] == "上" else (7, 12))
        elif match["months"]:
            found.add((1, _month(match["months"])))
        elif match["first"]:
            found.add((_month(match["first"]), _month(match["last"])))
        else:
            quarter = _QUARTERS[match["quarter"]]
            found.add((1 if match["upto"] else 3 * quarter - 2, 3 * quarter))
    return {(a, b) for a, b in found if 1 <= a <= b <= 12}


# A whole year as a time: 年底, 全年, or a year named alone (2024年 not followed by its months; 今年 not in 今年以来).
_WHOLE_YEAR = re.compile(rf"年底|年末|全年|(?:(?:19|20)\d{{2}}|今|明)年(?![\d一二两三四五六七八九十]|以来|[上下]半年|前|头|第|[一二三四1-4]季度)")


def period_of(text: str, start: int) -> tuple[int, int] | None:
    """The part of a year the figure at ``start`` is of: the last time its sentence names before it
    (…今年上半年…实现662.8亿元, 预计年底突破1300亿元: the first is of (1, 6), the second of the whole
    year (1, 12)); None when its sentence names none before it."""
    begin = next((a for a, b in sentences(text) if a <= start < b), 0)
    last = None
    for match in _PERIOD.finditer(text, begin, start):
        last = (match.start(), next(iter(periods(match.group(0))), None))
    for match in _WHOLE_YEAR.finditer(text, begin, start):
        if last is None or match.start() > last[0]:
            last = (match.start(), (1, 12))
    return last[1] if last else None


def _month(number: str) -> int:
    return int(number) if number.isdigit() else int(cn2an.cn2an(number.replace("两", "二"), "smart"))


def sentences(text: str) -> list[tuple[int, int]]:
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if text[m.start():m.end()].strip()]
    return spans or [(0, len(text))]


def arabic(text: str) -> str:
    """The Chinese-numeral figures of ``text`` in digits (四大 → 4大, 第十一 → 第11), so a figure compares
    across scripts; numerals that are not figures (一体化, 十里铺) stay."""
    def digits(match: re.Match) -> str:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return str(cn2an.cn2an(match.group(0), "smart"))
        except (ValueError, KeyError):  # not a well-formed numeral (十十): leave it as written
            return match.group(0)

    return _CN_NUMERAL.sub(digits, text)


def value_key(value: str) -> str:
    """Compare values as numbers with units, ignoring 近/约/突破, width, digit grouping and numeral
    script (第七 is 第7); and posts without the place in front (石家庄市鹿泉区委副书记 is 鹿泉区委副书记)."""
    key = re.sub(r"(以上|左右|余|多)", "", re.sub(rf"^({_PREFIX})", "", arabic(normalize(value))))
    return QUALIFIER.sub("", key) if POST_TITLE.search(key) else key


def unit_of(value: str) -> str:
    return re.sub(r"[\d.一二三四五六七八九十百千两]", "", value_key(value))


def figure_units(text: str) -> list[str]:
    """The units of the figures a text states, in order, leaving out years and bare numbers."""
    units = (unit_of(match.group(0)) for match in _QUANTITY.finditer(text))
    return list(dict.fromkeys(unit for unit in units if unit not in ("", "年")))


def figure_in(value: str, unit: str) -> tuple[int, int] | None:
    """Where in ``value`` the one figure in ``unit`` it states is: all of it, or the figure inside a
    clause the reader took whole (…主营业务收入力争突破1000亿元 → 1000亿元); None when it states
    none or several."""
    if unit_of(value) == unit:
        return (0, len(value))
    found = [m for m in _QUANTITY.finditer(value) if unit_of(m.group(0)) == unit]
    return found[0].span() if len({value_key(m.group(0)) for m in found}) == 1 else None


_OPENING = {"“": "”", "「": "」"}


def snap(text: str, span: Span) -> Span:
    """Complete a span that cuts a figure, a date or a short quotation in two (1100亿 → 1100亿元,
    2024年3 → 2024年3月)."""
    start, end = span.start, span.end
    for pattern in (_QUANTITY, _DATE):
        for match in pattern.finditer(text, max(0, start - 12), min(len(text), end + 12)):
            if match.start() < end < match.end() and match.start() >= start - 12:
                end = match.end()
            if match.start() < start < match.end() and start - match.start() <= 12:
                start = match.start()
    if 0 < start and text[start - 1] in _OPENING and end < len(text) and text[end] in "；;，,、":
        # The reader stopped at a separator inside a short quotation it opened (“来到正定县,一切都好办;投资…”): all of it.
        close = text.find(_OPENING[text[start - 1]], end, start + 80)
        end = close if close >= 0 and not re.search(r"[。！？!?“「]", text[end:close]) else end
    if (start, end) == (span.start, span.end):
        return span
    return replace(span, start=start, end=end, text=text[start:end])


# A question asking for so many things (哪三大行动, which two) and what tells the items of an answer apart:
# 、；和与及或, or 另一/第二 (一种是…，另一种是…); not commas, which a clause has as well. Of 147 such questions
# in the training data, 142 answers have as many items; 哪四个字 asks for one phrase and is left out.
_ASKED_ITEMS = re.compile(r"哪([两二三四五六七八九])(?!个?字)|\bwhich (two|three|four|five)\b")
_ITEM_BREAK = re.compile(r"[、；;]|以及|和|与|及|或|另一|第二")
_ITEM_END = re.compile(r"[、，,。；;！？!?：:]")
_ENGLISH_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5}


def asked_items(question: str) -> int | None:
    """How many things a question asks for by number (哪三大行动 → 3, which two → 2); None when it does not."""
    match = _ASKED_ITEMS.search(question.lower())
    if match is None:
        return None
    return _COUNTS[match.group(1)] if match.group(1) else _ENGLISH_COUNTS[match.group(2)]


def list_items(text: str) -> int:
    """How many items a span lists (项目攻坚、总量提升、服务赋能 → 3)."""
    return len(_ITEM_BREAK.findall(text)) + 1


def complete_list(text: str, span: Span, items: int | None) -> Span:
    """A span naming one item of a 、-list when the question asks for ``items`` things, widened over the
    list's next (then previous) items up to that number: 主持召开高标准高质量推进雄安新区建设座谈会、深入推进
    京津冀协同发展座谈会 answers which two 座谈会, and the reader's span often stops at the first."""
    if not items:
        return span
    start, end = span.start, span.end
    while list_items(text[start:end]) < items and end < len(text) and text[end] == "、":
        stop = _ITEM_END.search(text, end + 1)
        end = stop.start() if stop else len(text)
    while list_items(text[start:end]) < items and start > 0 and text[start - 1] == "、":
        start = max((m.end() for m in _ITEM_END.finditer(text, 0, start - 1)), default=0)
    if (start, end) == (span.start, span.end):
        return span
    return replace(span, start=start, end=end, text=text[start:end])


_RESPECTIVELY = "分别"
_LIST_BREAK = re.compile(r"、|以及|和|与|及")
_FIGURE_JOIN = re.compile(r"(?:、|以及|和|与|及)")  # what stands between the figures of one list
# "两大产业分别实现…": the subjects are a count of things named in an earlier 分别 list.
_COLLECTIVE = re.compile(r"(?:^|[^\d一二三四五六七八九十])([两二三四五六七八九])(?:大|个|家|项|座|所|类|种|者)|(双方)")
_COUNTS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "双方": 2}


def _figure_list(text: str, span: Span) -> list[tuple[int, int]]:
    """The figures a span lists up to its clause's end, or, for a span of one figure, the list that
    figure is part of (the reader may take the wrong item of 1200亿元、1300亿元)."""
    clause_end = next((span.start + m.start() for m in CLAUSE_BREAK.finditer(text[span.start:span.end])), span.end)
    figures = [m.span() for m in _QUANTITY.finditer(text, span.start, clause_end)]
    if len(figures) != 1 or figures[0] != (span.start, span.end):
        return figures
    start, end = max(0, span.start - 60), min(len(text), span.end + 60)
    near = [m.span() for m in _QUANTITY.finditer(text, start, end)]
    at = near.index(figures[0]) if figures[0] in near else None
    if at is None:
        return figures
    first = last = at
    while first > 0 and _FIGURE_JOIN.fullmatch(text[near[first - 1][1]:near[first][0]]):
        first -= 1
    while last + 1 < len(near) and _FIGURE_JOIN.fullmatch(text[near[last][1]:near[last + 1][0]]):
        last += 1
    return near[first:last + 1]


def _subjects(text: str, at: int, count: int) -> list[str] | None:
    """The ``count`` subjects of the 分别 at ``at``: its clause's list ("电子信息产业和生物医药产业分别…"),
    or, where that clause names a count of things (两大产业), the list of an earlier 分别 of that count."""
    clauses = [c for c in CLAUSE_BREAK.split(text[:at]) if c.strip()] or [""]
    subjects = _LIST_BREAK.split(clauses[-1])  # "…依旧喜人，分别实现": the clause before
    collective = _COLLECTIVE.search(subjects[-1])
    if len(subjects) == count:
        # "生物医药、新一代电子信息两大产业营业收入…": what follows the count is said of every subject.
        cut = collective.start(collective.lastindex) if collective else None
        return subjects[:-1] + [subjects[-1][:cut]] if cut else subjects
    collective = collective if len(subjects) == 1 else None
    if not collective or _COUNTS[collective.group(collective.lastindex)] != count:
        return None
    earlier = text.rfind(_RESPECTIVELY, 0, at)
    return _subjects(text, earlier, count) if earlier >= 0 else None


def respective(text: str, span: Span, asked: set[str]) -> Span:
    """The one figure a question asks of a "分别" list: "电子信息产业和生物医药产业分别实现营业收入1174亿元、
    1078.6亿元" answers a question about 生物医药 with the second, and so does a span of the first
    figure alone. The subjects before 分别 are split like the figures (up to the clause's end; "两大产业"
    stands for an earlier 分别 list of two); the subject holding the most characters of question words
    that no other subject holds says which. The span is kept when the counts differ or no subject
    stands out (a question naming both asks for the list)."""
    figures = _figure_list(text, span)
    if len(figures) < 2:
        return span
    start = max((s for s, _ in sentences(text) if s <= span.start), default=0)
    head = text[start:figures[0][0]]
    if _RESPECTIVELY not in head:
        return span
    subjects = _subjects(text, start + head.rindex(_RESPECTIVELY), len(figures))
    if subjects is None:
        return span
    held = [sum(len(word) for word in asked if len(word) > 1 and word in subject
                and not any(word in other for other in subjects if other is not subject)) for subject in subjects]
    best = max(held)
    if best == 0 or held.count(best) > 1:
        return span
    first, last = figures[held.index(best)]
    return replace(span, start=first, end=last, text=text[first:last])
