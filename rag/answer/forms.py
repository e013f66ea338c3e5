"""Forms and units: what a value is, whatever its notation, and whether it has the form asked.

General rule: values compare as numbers with units (近/约/突破, width, digit grouping and numeral
script aside), a span the reader cut inside a figure or a date is completed, and a question that
asks for a form (an e-mail address, a phone number, a count, an amount, a rank) is answered only by
a span of that form (rag/data/answer_shapes.tsv). Example: asked 有多少家企业, 4.2亿美元 is no answer but
65家 is; 突破1100亿元 and 1100亿元 are one value.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from importlib import resources

import cn2an

from ..question import Question
from ..reader.features import Span
from ..tokenizing import normalize

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
# A figure with its unit, without the words before it (突破, 近): what a cut-off span is completed to.
QUANTITY = re.compile(rf"(?:(?<![\d.])\d+(?:\.\d+)?|(?<![{_CN}])[{_CN}]+(?={_MAGNITUDE}(?:{_UNITS}))){_UNIT}(?:以上|左右)?"
                      rf"|第\d+|第[{_CN}]+")


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
    script (第七 is 第7)."""
    return re.sub(r"(以上|左右|余|多)", "", re.sub(rf"^({_PREFIX})", "", arabic(normalize(value))))


def unit_of(value: str) -> str:
    return re.sub(r"[\d.一二三四五六七八九十百千两]", "", value_key(value))


def figure_units(text: str) -> list[str]:
    """The units of the figures a text states, in order, leaving out years and bare numbers."""
    units = (unit_of(match.group(0)) for match in QUANTITY.finditer(text))
    return list(dict.fromkeys(unit for unit in units if unit not in ("", "年")))


def measure(unit: str) -> str:
    """A unit without its magnitude: 13500亿元 and 1.62万亿元 are both sums of 元, 820万人 and 749人 counts of 人."""
    return re.sub(r"^(?:万亿|亿|万|千|百)(?=.)", "", unit)


def figure_in(value: str, unit: str) -> tuple[int, int] | None:
    """Where in ``value`` the one figure in the measure of ``unit`` it states is: all of it, or the figure
    inside a clause the reader took whole (…营业收入力争突破1000亿元 → 1000亿元; 1.62万亿元，比去年增加2700亿元
    → 1.62万亿元, the other a difference; 2.1%提高到2.3% → 2.3%, the level reached); None when it states none
    or several."""
    figures = list(QUANTITY.finditer(value))
    if measure(unit_of(value)) == measure(unit) and not any(_STARTS_CHANGE.match(value, m.end()) for m in figures):
        return (0, len(value))
    found = [m for m in figures if measure(unit_of(m.group(0))) == measure(unit)
             and not difference(value, m.start()) and not _STARTS_CHANGE.match(value, m.end())]
    return found[0].span() if len({value_key(m.group(0)) for m in found}) == 1 else None


# A figure after 比…多/增加/减少, or right after 增长/下降 (not 增长到), is a change, not the level itself.
_CHANGED = "增加|减少|增长|下降|提高|降低|上升|扩大|缩小"
_STARTS_CHANGE = re.compile(rf"(?:{_CHANGED})?了?到")  # 2.1% in 2.1%提高到2.3%: where a change starts, not the level it reaches
_DIFFERENCE_BEFORE = re.compile(rf"(?:比[^，,。；;：:]{{0,12}}?(?:多|少|{_CHANGED}|增|减)|(?:{_CHANGED}))了?$")
# A question asking a change: 比上年多多少, 增长了多少, 增速, 下降多少, 往下调多少 (新增就业 asks a count of new jobs).
_ASKS_CHANGE = re.compile(r"比|(?<!新)增|减|降|涨|升|提高|扩大|缩小|多了|少了|幅|速|[上下]调|调[低高整]")


def difference(text: str, start: int) -> bool:
    """The figure at ``start`` is stated as a difference (城镇新增就业1100万人以上，比去年多100万人: 100万人;
    地区生产总值14.2万亿元、增长5.3%: 5.3%)."""
    return bool(_DIFFERENCE_BEFORE.search(text, max(0, start - 16), start))


def asks_change(question: str) -> bool:
    """The question asks how much something changed (比去年增加多少, 增长了多少), not how much it is
    (增长到多少 asks the level reached)."""
    return bool(_ASKS_CHANGE.search(re.sub(rf"(?:{_CHANGED})(?:到|至)", "", question)))


def change_beside(text: str, span: Span, shape: re.Pattern | None, within: int = 12) -> Span | None:
    """Asked how much a thing changed, a span stating its level gives way to the change printed right
    after it, in its sentence (国内生产总值达到63.6万亿元，比上年增长7.4%: 7.4%); None when none is, within
    ``within`` characters."""
    if shape is None or shape.search(span.text):
        return None
    stop = min(len(text), span.end + within, next((m.start() for m in re.finditer(r"[。！？!?；;]", text[span.end:])), len(text)) + span.end)
    for match in shape.finditer(text, span.end, stop):
        if difference(text, match.start()):
            return replace(span, start=match.start(), end=match.end(), text=match.group(0))
    return None


_PER_HEAD = "人均"


def per_head(text: str, start: int | None = None) -> bool:
    """The figure at ``start`` is given per head: its clause says 人均 before it (地区生产总值达14.2万亿元，人均
    地区生产总值达16.7万元: 16.7万元). A total and its share per head are two measures; a question asks one.
    With no ``start``: ``text`` speaks of a figure per head anywhere (a question)."""
    if start is None:
        return _PER_HEAD in text
    return _PER_HEAD in text[_clause_start(text, start):start]


def without_per_head(text: str, span: Span) -> Span:
    """``span`` cut before a clause of it that gives a figure per head (达14.2万亿元、年均增长5.7%，人均地区生产总值达
    16.7万元 → 达14.2万亿元、年均增长5.7%); as is when none does or it opens with one."""
    at = text.find(_PER_HEAD, span.start, span.end)
    begin = _clause_start(text, at) if at > span.start else span.start
    if begin <= span.start:
        return span
    end = begin - 1
    while end > span.start and text[end - 1] in "，,、；;：: ":
        end -= 1
    return replace(span, end=end, text=text[span.start:end])


def _clause_start(text: str, at: int) -> int:
    return max((m.end() for m in re.finditer(r"[，,。；;！？!?：:、]", text[:at])), default=0)


_OPENING = {"“": "”", "「": "」"}


def snap(text: str, span: Span) -> Span:
    """Complete a span that cuts a figure, a date or a short quotation in two (1100亿 → 1100亿元,
    2024年3 → 2024年3月)."""
    start, end = span.start, span.end
    for pattern in (QUANTITY, _DATE):
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


def table(name: str) -> list[list[str]]:
    """The rows of a tab-separated table in rag/data/, without its comment lines."""
    text = resources.files("rag").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


ANSWER_SHAPES = [(re.compile(asked), re.compile(shape.strip())) for asked, shape in table("answer_shapes.tsv")]



def _asked(question: Question) -> str:
    return question.raw.lower() if question.english else question.read_as


def answer_shape(question: Question) -> re.Pattern | None:
    """The form the answer must have when the question asks for a contact detail, a count, an amount,
    a rank, a date, a rate or an area (rag/data/answer_shapes.tsv)."""
    return next((shape for pattern, shape in ANSWER_SHAPES if pattern.search(_asked(question))), None)


def to_form(text: str, span: Span, shape: re.Pattern | None, beside: int = 3) -> Span:
    """A span holding one figure of the form asked and more than ``beside`` other characters is cut to
    that figure, completed (总投资多少 of 744亿元的省市重点项目 → 744亿元). A few words beside it are how the
    answer is said (近300家, 3名子女, 成立于1919年): in the training data 174 of 198 answers to count
    questions that hold one figure have at most 3 characters beside it. One holding several figures
    stays: a date (2021年12月21日) or a list is the answer whole."""
    forms = list(shape.finditer(text, span.start, span.end)) if shape is not None else []
    if len(forms) != 1 or len(span.text) - len(forms[0].group(0)) <= beside:
        return span
    return snap(text, narrowed(span, forms))


def narrowed(span: Span, forms: list[re.Match]) -> Span:
    """``span`` cut to the last of ``forms`` it holds (211个园区中排名第八 → 第八); ``span`` itself when it holds none."""
    inside = [m for m in forms if span.start <= m.start() and m.end() <= span.end]
    if not inside:
        return span
    form = inside[-1]
    return replace(span, start=form.start(), end=form.end(), text=form.group(0))
