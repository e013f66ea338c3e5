"""Dates and periods: which years and which part of a year a figure is of, and whether it is a target.

General rule: a figure answers only a question about its own time, and the sentence says which:
the years it names (relative years resolved against the document's date), the part of the year
(上半年, 前三季度) named last before it, and whether the words before it make it a plan or a thing done.
Example: in a 2025 report, 去年全市出口增长8%，今年力争增长10% gives 2024's outcome (8%) and 2025's
target (10%); asked for 2025年的目标 only the second answers.
"""

from __future__ import annotations

import re
from dataclasses import replace

import cn2an

from ..reader.features import Span
from .forms import QUANTITY
from .sentences import full_sentence, sentences

RELATIVE_YEAR = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2, "过去一年": -1}  # a report's 过去一年 is the year before it
_RELATIVE = re.compile("|".join(sorted(RELATIVE_YEAR, key=len, reverse=True)))
# A year a period starts from (自2021年启动建设以来, 2020年以来, 从2019年起).
_SINCE = re.compile(r"(?:自|从)((?:19|20)\d{2})年[^，,。；;]{0,20}?(?:以来|至今|起)|((?:19|20)\d{2})年(?:以来|至今)")


def resolve_relative(text: str, year: int | None) -> str:
    """今年/去年/明年 → absolute years, for matching only."""
    if not year:
        return text
    return _RELATIVE.sub(lambda m: f"{year + RELATIVE_YEAR[m.group(0)]}年", text)


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

    own = next(((a, b) for a, b in sentences(text) if a <= start < b), (start, end))
    if found := named(text[own[0]:own[1]]):
        return found
    begin, stop = full_sentence(text, start, end)
    return named(text[begin:stop])


def of_years(text: str, start: int, end: int, year: int | None, asked: list[int]) -> bool:
    """The span's sentence names one of the years asked, or none (去年 in a 2023 article is 2022: a
    figure for another year does not answer)."""
    said = years_said(text, start, end, year)
    return not said or bool(said & set(asked))


_NUMBER = r"\d{1,2}|[一二两三四五六七八九十]{1,3}"
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_PERIOD = re.compile(rf"(?P<half>[上下])半年|(?:前|头)(?P<months>{_NUMBER})个月|(?P<first>{_NUMBER})月?(?:至|到|-|－|~|～|—)(?P<last>{_NUMBER})月"
                     rf"|(?P<upto>前)?(?:第)?(?P<quarter>[一二三四1-4])季度")
# A whole year as a time: 年底, 全年, or a year named alone (2024年 not followed by its months; 今年 not in 今年以来).
_WHOLE_YEAR = re.compile(rf"年底|年末|全年|(?:(?:19|20)\d{{2}}|今|明)年(?![\d一二两三四五六七八九十]|以来|[上下]半年|前|头|第|[一二三四1-4]季度)")


def periods(text: str) -> set[tuple[int, int]]:
    """The parts of a year a text names, as (first month, last month): 上半年, 前七个月, 1至6月, 三季度,
    前三季度. Why: a half-year's figure and the year's forecast often share a passage, and only the
    words say which one was asked."""
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


def period_of(text: str, start: int) -> tuple[int, int] | None:
    """The part of a year the figure at ``start`` is of: the last time its sentence names before it
    (上半年实现营收66亿元，预计全年突破130亿元: the first is of (1, 6), the second of (1, 12)); None when
    its sentence names none before it."""
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


# Words that make what follows them a plan or a target, not an outcome (力争…保持在30%以上, 预计年底将突破).
_PLANNED = re.compile("目标|力争|争取|计划|预计|有望|确保|规划")
# Asked of a figure: a target (目标, 计划, 预期, 拟安排) or an outcome (实际, 截至, 年末, 增长了多少).
_ASKS_TARGET = re.compile(r"目标|计划|(?<![于出])预期|预计|拟|力争|争取|规划|安排")
_ASKS_OUTCOME = re.compile(r"实际|截至|截止|年末|年底|(?:增长|增加|下降|减少|达到|完成|实现|提高|上升|突破|退出)了")
_TARGET_BEFORE = re.compile(rf"{_PLANNED.pattern}|(?<![于出])预期|拟|(?<![主重需只])要(?!求)|安排")
_DONE_BEFORE = re.compile(r"了|已|累计|以来|同比|比上年|较上年|过去|刚刚|一年来|五年来|(?<!力争|确保|争取|计划|预计|有望)(?:实现|达到)")


def planned(text: str) -> bool:
    """``text`` speaks of a plan or target (what the words after it say is aimed at, not achieved)."""
    return bool(_PLANNED.search(text))


def figure_kind_asked(question: str) -> str | None:
    """"target" or "outcome" when the question asks for one of them (2015年实际新增就业多少 → outcome), else None."""
    target, outcome = bool(_ASKS_TARGET.search(question)), bool(_ASKS_OUTCOME.search(question))
    return "target" if target and not outcome else "outcome" if outcome and not target else None


def figure_kind(text: str, start: int) -> str | None:
    """Whether the figure at ``start`` is a target or an outcome (None: nothing says). The nearest word
    before it in its sentence decides: of a plan (预期目标是：, 拟安排, 力争) a target, of a thing done (了,
    已, 累计, 同比, 实现) an outcome. A sentence with neither is a target when it speaks of this year (今年)
    or its passage spoke of a plan before it (a report's list of this year's tasks)."""
    begin = full_sentence(text, start)[0]
    marks = [(m.start(), "target") for m in _TARGET_BEFORE.finditer(text, begin, start)]
    marks += [(m.start(), "outcome") for m in _DONE_BEFORE.finditer(text, begin, start)]
    if marks:
        return max(marks)[1]
    return "target" if "今年" in text[begin:start] or _TARGET_BEFORE.search(text, 0, begin) else None


def of_kind(text: str, span: Span, kind: str) -> Span | None:
    """A span holding several figures cut to the last one of ``kind`` (计划投资62亿元,…,目前已完成投资34.2亿元
    asked what was spent → 34.2亿元); None when it holds no such figure besides its first."""
    figures = [m for m in QUANTITY.finditer(text, span.start, span.end) if m.start() > span.start]
    fitting = [m for m in figures if figure_kind(text, m.start()) == kind]
    if not fitting:
        return None
    form = fitting[-1]
    return replace(span, start=form.start(), end=form.end(), text=form.group(0))
