"""Dates: which years a figure is of, and whether it is a target or an outcome.

General rule: a figure answers only a question about its own time, and its sentence says which: the
years it names (relative years resolved against the document's date), and whether the words before
it make it a plan or a thing done.
Example: in a 2025 report, 去年全市出口增长8%，今年力争增长10% gives 2024's outcome (8%) and 2025's
target (10%); asked for 2025年的目标 only the second answers.
"""

from __future__ import annotations

import re
from .sentences import full_sentence, sentences

_FIGURE_YEAR = re.compile(r"(?<![比较])((?:19|20)\d{2})年")  # a year compared against (比去年多600套) is not the figure's
RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2, "过去一年": -1}  # a report's 过去一年 is the year before it
_RELATIVE = re.compile("|".join(sorted(RELATIVE_YEAR, key=len, reverse=True)))


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return _RELATIVE.sub(lambda m: f"{year + RELATIVE_YEAR[m.group(0)]}年", text)


def years_said(text: str, start: int, end: int, year: int | None) -> set[int]:
    """The years named by the sentence holding ``text[start:end]`` (今年 resolved against ``year``; not
    a year compared against, as 比去年 in 今年计划5600套，比去年多600套, nor the starting point of a change
    the figure ends, as 去年 in 今年赤字率从去年的2.1%提高到2.3% for 2.3%), or, when it names none, by the
    whole sentence it is a ；-joined part of (2022年，营业收入16.5亿元；净利润1.9亿元)."""
    def named(begin: int, stop: int) -> set[int]:
        part = _without_starting_point(text[begin:stop], start - begin)
        return {int(y) for y in _FIGURE_YEAR.findall(resolve_relative(part, year))}

    own = next(((a, b) for a, b in sentences(text) if a <= start < b), (start, end))
    if found := named(*own):
        return found
    return named(*full_sentence(text, start, end))


# 从去年的2.1%提高到 | 由10.2%下降到: the start of a change, a figure in it (从2016年到2020年 and
# 从1980年1月28日到1983年5月11日 are periods: a year, a month or a day is no figure).
_CHANGE_FROM = re.compile(r"[从由][^，。；;！？]{0,40}?(?<![\d.])\d+(?:\.\d+)?(?![\d.]|[年月日号])[^，。；;！？]{0,20}?到")


def _without_starting_point(part: str, at: int) -> str:
    """``part`` without the 从…到 of its changes, for a figure at ``at`` that starts none: the year a change
    starts from is its starting figure's, not the level it reaches nor another figure's. A starting figure
    keeps its sentence's years (从2020年的3.68万亿元增长到…，收入从3826.5亿元增长到…: 3826.5亿元 is 2020's too)."""
    changes = list(_CHANGE_FROM.finditer(part))
    if any(change.start() <= at < change.end() for change in changes):
        return part
    for change in reversed(changes):
        part = part[:change.start()] + part[change.end():]
    return part


def of_years(text: str, start: int, end: int, year: int | None, asked: list[int], unsaid: int | None = None) -> bool:
    """The span's sentence names one of the years asked, or none (去年 in a 2023 article is 2022: a
    figure for another year does not answer). ``unsaid``: the year a figure is of when its sentence names none."""
    said = years_said(text, start, end, year) or ({unsaid} if unsaid else set())
    return not said or bool(said & set(asked))


def title_year(title: str) -> int | None:
    """The year a title opens with (2017 of 2017年国务院政府工作报告): a yearly document's own year."""
    opening = re.match(r"((?:19|20)\d{2})年", title.strip())
    return int(opening.group(1)) if opening else None


# A title opening with a part of its year (2024年1-2月份…, 2024年一季度…, 2024年上半年…) is a bulletin of that
# part, not a yearly document.
_PART_OF_YEAR = re.compile(r"(?:19|20)\d{2}年度?\s*(?:[\d一二三四五六七八九十]+(?:[-—~至、][\d一二三四五六七八九十]+)?(?:月|季度)|[上下]半年|前[一二三]季度|第[一二三四]季度)")


def reviewed_year(title: str, date: str) -> int | None:
    """The year a yearly document's outcomes are of when their sentence names none: the last year over
    at its date. A thing done is of a time past, and a document whose title opens with its year looks
    back on a whole year: dated after that year (2023年统计公报 of 2024-02-28), that year; dated in its
    first half (2014年政府工作报告 of 2014-03-05, whose 国内生产总值比上年增长7.7% is 2013's), the year before.
    None for other documents (a bulletin of 2024年1-2月份 is of those months), or one dated late in its own
    year (a year-end review's 今年以来 is that year's)."""
    titled = title_year(title)
    if titled is None or _PART_OF_YEAR.match(title.strip()) or not re.match(r"\d{4}-\d{2}", date or ""):
        return None
    dated, month = int(date[:4]), int(date[5:7])
    return titled if dated > titled else titled - 1 if dated == titled and month <= 6 else None


# Words that make what follows them a plan or a target, not an outcome (力争…保持在30%以上, 预计年底将突破).
_PLANNED = re.compile("目标|力争|争取|计划|预计|有望|确保|规划")
# Asked of a figure: a target (目标, 任务, 计划, 预期, 拟安排) or an outcome (实际, 截至, 年末, 增长了多少).
_ASKS_TARGET = re.compile(r"目标|任务|计划|(?<![于出])预期|预计|拟|力争|争取|规划|安排")
_ASKS_OUTCOME = re.compile(r"实际|截至|截止|年末|年底|(?:增长|增加|下降|减少|达到|完成|实现|提高|上升|突破|退出)了")
_TARGET_BEFORE = re.compile(rf"{_PLANNED.pattern}|(?<![于出])预期|拟|(?<![主重需只])要(?!求)|安排")
_DONE_BEFORE = re.compile(r"了|已|累计|以来|同比|比上年|较上年|过去|刚刚|一年来|五年来|(?<!力争|确保|争取|计划|预计|有望)(?:实现|达到)")
# Of these, the ones that say a sentence after them is of a thing done too (not 了 or 比上年: of their own figure).
_DONE_LEAD = re.compile(r"已|累计|以来|过去|一年来|五年来|(?<!力争|确保|争取|计划|预计|有望)(?:实现|达到)")


def planned(text: str) -> bool:
    """``text`` speaks of a plan or target (what the words after it say is aimed at, not achieved)."""
    return bool(_PLANNED.search(text))


def figure_kind_asked(question: str) -> str | None:
    """"target" or "outcome" when the question asks for one of them (2015年实际新增就业多少 → outcome), else None."""
    target, outcome = bool(_ASKS_TARGET.search(question)), bool(_ASKS_OUTCOME.search(question))
    return "target" if target and not outcome else "outcome" if outcome and not target else None


def figure_kind(text: str, start: int, year: int | None = None) -> str | None:
    """Whether the figure at ``start`` is a target or an outcome (None: nothing says). Of a year after
    the document's ``year`` it is a target (a 2016 report's 到2020年，城镇化率达到60%). Else the nearest word
    before it in its sentence decides: of a plan (预期目标是：, 拟安排, 力争) a target, of a thing done (了,
    已, 累计, 同比, 实现) an outcome. A sentence with neither is a target when it speaks of this year (今年);
    else the passage's nearest such word before it decides (a report's list of this year's tasks, or
    its review of five years: 五年来…人均预期寿命达到76.7岁。棚户区住房改造2600多万套 is an outcome)."""
    begin = full_sentence(text, start)[0]
    if year and (ahead := [int(y) for y in re.findall(r"((?:19|20)\d{2})年", text[begin:start])]) and min(ahead) > year:
        return "target"
    if kind := _nearest_kind(text, begin, start):
        return kind
    return "target" if "今年" in text[begin:start] else _nearest_kind(text, 0, begin, _DONE_LEAD)


def heading_year(heading: str) -> int | None:
    """The one year a section heading names (2015 of 一、2015年工作回顾), else None."""
    named = set(_FIGURE_YEAR.findall(heading or ""))
    return int(named.pop()) if len(named) == 1 else None


def section_kind(heading: str, year: int | None) -> str | None:
    """"outcome" for a section headed by a year before its document's (一、2015年工作回顾 of a 2016 report):
    it reviews that year, so a figure its words leave unmarked (棚户区住房改造开工601万套) is a thing done."""
    named = heading_year(heading)
    return "outcome" if named and year and named < year else None


def plan_section(heading: str, year: int | None) -> bool:
    """A section headed by its document's own year or a later one (三、对2018年政府工作的建议 of a 2018 report,
    三、2026年工作安排): it sets out what is aimed at."""
    named = heading_year(heading)
    return bool(named and year and named >= year)


# Words that speak of a plan as often as of a thing done (实现高速宽带城乡全覆盖 in a year's tasks; 实现增长7.4% in a review).
_AIMED_OR_DONE = re.compile(r"实现|达到")


def kind_in(chunk, start: int) -> str | None:
    """The kind of the figure at ``start`` of a passage: its words', else its section's. Marked only by
    实现/达到, a figure of a plan section is a target (2018年 report, 对2018年政府工作的建议: 实现高速宽带城乡全覆盖，
    …移动网络流量资费年内至少降低30% is aimed at)."""
    kind = figure_kind(chunk.text, start, chunk.year)
    if kind == "outcome" and plan_section(chunk.heading, chunk.year) and _marked_only_by_aim_or_deed(chunk.text, start):
        return "target"
    return kind or section_kind(chunk.heading, chunk.year)


def _marked_only_by_aim_or_deed(text: str, start: int) -> bool:
    """The nearest kind word before ``text[start]`` in its sentence is 实现 or 达到."""
    mark = _nearest_mark(text, full_sentence(text, start)[0], start)
    return mark is not None and bool(_AIMED_OR_DONE.fullmatch(mark[1]))


def _nearest_kind(text: str, begin: int, end: int, done: re.Pattern = _DONE_BEFORE) -> str | None:
    mark = _nearest_mark(text, begin, end, done)
    return mark[0] if mark else None


def _nearest_mark(text: str, begin: int, end: int, done: re.Pattern = _DONE_BEFORE) -> tuple[str, str] | None:
    """The kind word in ``text[begin:end]`` nearest its end: (its kind, the word)."""
    marks = [(m.start(), "target", m.group(0)) for m in _TARGET_BEFORE.finditer(text, begin, end)]
    marks += [(m.start(), "outcome", m.group(0)) for m in done.finditer(text, begin, end)]
    return max(marks)[1:] if marks else None
