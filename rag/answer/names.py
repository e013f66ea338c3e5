"""Names, places and anchors: a passage answers only if it is about what the question names.

General rule: every distinctive name the question gives (a place, a firm, a person, a year, a
session) must be printed in the passage, its title or headings, or the passages beside it in its
section; a figure whose sentence names another place is that place's; a part of a ；-list that names
none of the question's names, when a later part opens with one, is another subject's. Example: a
passage about 海淀区 does not answer a question about 朝阳区, and in 甲公司建成新产线；乙公司研发新芯片
the chip is not 甲公司's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from ..chunking import Chunk
from ..question import Keyword, Question
from ..search import Hit
from ..tokenizing import normalize
from .dates import resolve_relative, reviewed_year
from .sentences import clause_bounds

ANCHOR_SHARE = 0.08  # a name in more than this share of the passages tells them apart too little to insist on
NEIGHBOURS = 2  # passages either side in the same section that may name what a passage is about
Names = tuple[tuple[str, ...], ...]  # names, each with its other spellings


def anchor_words(keyword: Keyword) -> list[str]:
    """What stands for an anchor: itself, a synonym, or its leading part (远东 of 远东通信). A trailing part
    alone names the kind of thing (通信, 生物) and would let any company stand in."""
    return [keyword.word, *(w for w, credit in keyword.alternatives if credit > 0.5 or keyword.word.startswith(w))]


def names_any(text: str, names: Names) -> bool:
    return any(word in text for words in names for word in words)


class Anchors:
    """The index's passages and word rarity, to tell whether a passage is about what a question names."""

    def __init__(self, chunks: list[Chunk], idf: dict[str, float], places: Callable[[str], set[str]] | None = None) -> None:
        self.chunks, self.idf, self.places = chunks, idf, places
        self.titles = {normalize(title) for title in {c.title for c in chunks}}
        self.default_idf = max(idf.values(), default=5.0)
        self.anchor_idf = math.log(1 + 1 / ANCHOR_SHARE)

    def holds(self, question: Question, hit: Hit, looking_back: bool = False) -> bool:
        """Every distinctive name the question gives is in the passage, its context or its neighbours.
        ``looking_back``: a yearly document is about the year it looks back on (:func:`reviewed_year`) too."""
        chunk = hit.chunk
        issuer = normalize(f"{chunk.title} {chunk.source}")  # a city's daily is about that city throughout
        # 去年 in a 2023 report is 2022年: a question about 2022 is answered by the next year's review of it.
        looked_back = (reviewed_year(chunk.title, chunk.date) or "") if looking_back else ""
        context = normalize(resolve_relative(f"{chunk.context} {chunk.source} {chunk.year or ''}年 {looked_back}年 {chunk.date}", chunk.year))
        whole = normalize(resolve_relative(chunk.text, chunk.year))
        return self._named(question, f"{whole} {context}") or self._named(question, f"{whole} {self._neighbours(hit)} {issuer}")

    def _named(self, question: Question, text: str) -> bool:
        for keyword in question.groups:
            if keyword.topic and not any(w in text for w in anchor_words(keyword)):
                return False  # 那生物医药呢: a passage about electronics does not answer, however common 生物医药 is
            if not keyword.anchor or (self.idf.get(keyword.word, math.inf) < self.anchor_idf
                                      and not any(w in t for t in self.titles for w in anchor_words(keyword))):
                continue  # common in the passages, unless documents are told apart by it (广东 of 2026年广东省政府工作报告)
            if not any(w in text for w in anchor_words(keyword)):
                return False
        return True

    def _neighbours(self, hit: Hit, reach: int = NEIGHBOURS) -> str:
        """The passages next to this one in its section ("在他看来…" names the park two paragraphs up)."""
        if hit.row < 0 or hit.row >= len(self.chunks):
            return ""
        chunk = hit.chunk
        near = self.chunks[max(0, hit.row - reach):hit.row + reach + 1]
        return " ".join(normalize(c.text) for c in near if c.doc_id == chunk.doc_id and c.heading == chunk.heading and c.kind == "body")


    def places_asked(self, question: Question) -> set[str] | None:
        """The places a question names, and its names of any kind (a place may be tagged a person's name)."""
        if self.places is None:
            return None
        named = {word for g in question.groups if g.anchor for word in anchor_words(g)}
        return named | self.places(" ".join(g.word for g in question.groups) if question.english else question.text)

    def of_another_place(self, text: str, sentence: tuple[int, int], asked: set[str] | None) -> bool:
        """The figure's sentence names a district, county, city or province the question does not, and no
        place it does: "某区…力争2024年突破1100亿元" is the district's figure, not its city's."""
        if asked is None:
            return False
        named = self.places(text[sentence[0]:sentence[1]])
        same = lambda place: any(place in other or other in place for other in asked)  # noqa: E731 杭州 / 杭州市
        return any(place[-1] in "省市区县" and not same(place) for place in named) and not any(same(p) for p in named)


def of_swapped_subject(text: str, start: int, replaced: tuple[str, ...], topics: Names) -> bool:
    """The clause holding ``start`` names what a follow-up swapped out and not what it swapped in: after
    生物医药产业新上了多少个项目, 那电子信息产业呢 is not answered by 生物医药产业新上…项目109个 when the next
    clause says 电子信息产业新上…项目73个."""
    if not replaced or not topics:
        return False
    clause = text[slice(*clause_bounds(text, start))]
    return any(word in clause for word in replaced) and not names_any(clause, topics)


def other_measure(text: str, at: int, measures: tuple[tuple[str, str, str], ...]) -> bool:
    """The clause holding ``text[at]`` names a sibling of a measure asked: three words the question gives in
    a row (城镇 调查 失业率) printed with another word in the middle one's place (城镇登记失业率), the middle one
    nowhere in the clause. One modifier swapped names another measure, which does not answer."""
    clause = text[slice(*clause_bounds(text, at))]
    for first, middle, last in measures:
        if middle in clause or first not in clause or last not in clause:
            continue
        if any(gap != middle for gap in re.findall(re.escape(first) + r"([\u4e00-\u9fff]{2,4}?)" + re.escape(last), clause)):
            return True
    return False
