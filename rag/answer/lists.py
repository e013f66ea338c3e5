"""Lists: how many things a question asks for, and which item of a 分别 list is its own.

General rule: a question asking for so many things (哪三大行动, which two) is answered by a list of
that many items, so a span naming the first is widened over the next; and of subjects and figures
paired by 分别 (A和B分别实现x、y) the figure paired with the subject the question names answers.
Example: 上海和深圳分别增长5%、6%, asked of 深圳, answers 6%.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..reader.features import Span
from .forms import QUANTITY
from .sentences import CLAUSE_BREAK, sentences

# What tells the items of an answer apart: 、；和与及或, or 另一/第二 (一种是…，另一种是…); not commas, which a
# clause has as well. Of 147 such questions in the training data, 142 answers have as many items;
# 哪四个字 asks for one phrase and is left out.
_ASKED_ITEMS = re.compile(r"哪([两二三四五六七八九])(?!个?字)|\bwhich (two|three|four|five)\b")
_ITEM_BREAK = re.compile(r"[、；;]|以及|和|与|及|或|另一|第二")
_ITEM_END = re.compile(r"[、，,。；;！？!?：:]")
_ENGLISH_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5}
_RESPECTIVELY = "分别"
_LIST_BREAK = re.compile(r"、|以及|和|与|及")
_FIGURE_JOIN = re.compile(r"(?:、|以及|和|与|及)")  # what stands between the figures of one list
# "两大产业分别实现…": the subjects are a count of things named in an earlier 分别 list.
_COLLECTIVE = re.compile(r"(?:^|[^\d一二三四五六七八九十])([两二三四五六七八九])(?:大|个|家|项|座|所|类|种|者)|(双方)")
_COUNTS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "双方": 2}


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


def _figure_list(text: str, span: Span) -> list[tuple[int, int]]:
    """The figures a span lists up to its clause's end, or, for a span of one figure, the list that
    figure is part of (the reader may take the wrong item of 1200亿元、1300亿元)."""
    clause_end = next((span.start + m.start() for m in CLAUSE_BREAK.finditer(text[span.start:span.end])), span.end)
    figures = [m.span() for m in QUANTITY.finditer(text, span.start, clause_end)]
    if len(figures) != 1 or figures[0] != (span.start, span.end):
        return figures
    start, end = max(0, span.start - 60), min(len(text), span.end + 60)
    near = [m.span() for m in QUANTITY.finditer(text, start, end)]
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
