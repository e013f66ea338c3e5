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
from .dates import resolve_relative
from .forms import QUALIFIER
from .sentences import CLAUSE_BREAK, full_sentence, sentences

ANCHOR_SHARE = 0.08  # a name in more than this share of the passages tells them apart too little to insist on
NEIGHBOURS = 2  # passages either side in the same section that may name what a passage is about
Names = tuple[tuple[str, ...], ...]  # names, each with its other spellings


def anchor_words(keyword: Keyword) -> list[str]:
    """What stands for an anchor: itself, a synonym, its leading part (远东 of 远东通信), or itself without
    the place or scope in front (市国资委 → 国资委). A trailing part alone names the kind of thing
    (通信, 生物) and would let any company stand in."""
    words = [keyword.word, *(w for w, credit in keyword.alternatives if credit > 0.5 or keyword.word.startswith(w))]
    core = QUALIFIER.sub("", keyword.word)
    return words + [core] if core != keyword.word and len(core) >= 3 else words


def names_any(text: str, names: Names) -> bool:
    return any(word in text for words in names for word in words)


def _whole(place: str, text: str, issuer: str) -> bool:
    """全省 / 全市 stand for the province or city that issued the document: its title or source names it
    (浙江省 asked, 全省 printed in 浙江日报). In another province's report 全省 is that province's."""
    level = place[-1]
    return level in "省市" and f"全{level}" in text and len(place) > 2 and place[:-1] in issuer


class Anchors:
    """The index's passages and word rarity, to tell whether a passage is about what a question names."""

    def __init__(self, chunks: list[Chunk], idf: dict[str, float], places: Callable[[str], set[str]] | None) -> None:
        self.chunks, self.idf, self.places = chunks, idf, places
        self.titles = {normalize(title) for title in {c.title for c in chunks}}
        self.default_idf = max(idf.values(), default=5.0)
        self.anchor_idf = math.log(1 + 1 / ANCHOR_SHARE)

    def holds(self, question: Question, hit: Hit) -> bool:
        """Every distinctive name the question gives is in the passage, its context or its neighbours."""
        chunk, year = hit.chunk, hit.chunk.year
        issuer = normalize(f"{chunk.title} {chunk.source}")  # a city's daily is about that city throughout
        context = normalize(resolve_relative(f"{chunk.context} {chunk.source} {year or ''}年 {chunk.date}", year))
        whole = normalize(resolve_relative(chunk.text, year))
        return self._named(question, whole, context, issuer) or self._named(question, whole, self._neighbours(hit) + " " + issuer, issuer)

    def _named(self, question: Question, whole: str, context: str, issuer: str) -> bool:
        text = whole + " " + context
        for i, keyword in enumerate(question.groups):
            if keyword.topic and not any(w in text for w in anchor_words(keyword)):
                return False  # 那生物医药呢: a passage about electronics does not answer, however common 生物医药 is
            if not keyword.anchor or (self.idf.get(keyword.word, math.inf) < self.anchor_idf
                                      and not any(w in t for t in self.titles for w in anchor_words(keyword))):
                continue  # common in the passages, unless documents are told apart by it (广东 of 2026年广东省政府工作报告)
            if any(w in text for w in anchor_words(keyword)):
                continue
            # 河北省商务厅 is printed 省商务厅 in a provincial paper: the level word joined to the next name stands for the place.
            following = question.groups[i + 1].word if i + 1 < len(question.groups) else ""
            office = following and re.search(r"[厅局委办院部]$|中心$|政府$", following)
            if not (keyword.word[-1] in "省市区县" and office and keyword.word[-1] + following in text) and not _whole(keyword.word, text, issuer):
                return False
        return True

    def _neighbours(self, hit: Hit, reach: int = NEIGHBOURS) -> str:
        """The passages next to this one in its section ("在他看来…" names the park two paragraphs up)."""
        if hit.row < 0 or hit.row >= len(self.chunks):
            return ""
        chunk = hit.chunk
        near = self.chunks[max(0, hit.row - reach):hit.row + reach + 1]
        return " ".join(normalize(c.text) for c in near if c.doc_id == chunk.doc_id and c.heading == chunk.heading and c.kind == "body")

    def names(self, question: Question) -> Names:
        """The distinctive names the question gives (places, firms, people; not years), as :meth:`holds` takes them."""
        return tuple(tuple(anchor_words(k)) for k in question.groups
                     if k.anchor and not re.fullmatch(r"\d{4}年?", k.word) and self.idf.get(k.word, self.default_idf) >= self.anchor_idf)

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
        same = lambda place: any(place in other or other in place for other in asked)  # noqa: E731 石家庄 / 石家庄市
        return any(place[-1] in "省市区县" and not same(place) for place in named) and not any(same(p) for p in named)


def of_other_subject(text: str, start: int, names: Names) -> bool:
    """The ；-part of a sentence holding ``start`` names none of ``names`` while a later part opens with
    one: a list of subjects and their deeds (甲公司…；乙公司打破国外垄断；丙公司自主研发的雷达…), where the
    radar is not 乙公司's. A name in the sentence's first part may govern the parts after it
    (某集团表示,…；全力推进4、5、6号线…), so it says nothing."""
    if not names:
        return False
    begin, stop = full_sentence(text, start)
    parts = [(a, b) for a, b in sentences(text) if begin <= a < stop]
    own = next(((a, b) for a, b in parts if a <= start < b), None)
    opens = lambda a, b: any(text[a:b].lstrip(" “\"'（(").startswith(w) for words in names for w in words)  # noqa: E731
    return (own is not None and not names_any(text[own[0]:own[1]], names)
            and any(opens(a, b) for a, b in parts[1:] if (a, b) != own))


def of_swapped_subject(text: str, start: int, replaced: tuple[str, ...], topics: Names) -> bool:
    """The clause holding ``start`` names what a follow-up swapped out and not what it swapped in: after
    生物医药产业新上了多少个项目, 那电子信息产业呢 is not answered by 生物医药产业新上…项目109个 when the next
    clause says 电子信息产业新上…项目73个."""
    if not replaced or not topics:
        return False
    begin = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    stop = next((m.start() for m in CLAUSE_BREAK.finditer(text, start)), len(text))
    clause = text[begin:stop]
    return any(word in clause for word in replaced) and not names_any(clause, topics)
