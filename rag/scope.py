"""Which documents a question is about, from what it says of them, and filters a caller gives.

An archive holds one document of a kind per year or per issuer (a yearly report, a monthly
bulletin), and the same kind of figure is printed in each. A question that names a document by
its year and its kind (the last word of its title: 2016年政府工作报告提出…, 按2015年的报告, 2023年统计公报)
asks about that document only; the same figure in another year's document answers another
question; an English question names it alike (the 2016 report). Naming a year the archive has no such
document for (2019年的报告) is answered "not found".
A question naming a series without a year (国务院政府工作报告提出的…目标) asks about every document of
that series, not the others (a province's report). A question naming a found document's title whole
(尖鳍魣体长可达到多少) is held to it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .chunking import Chunk
from .tokenizing import normalize

_CJK = re.compile(r"[\u4e00-\u9fff]")
_YEAR_FIRST = re.compile(r"^(?:19|20)\d{2}年度?")
_KIND_CHARS = 2  # 报告, 公报, 通知, 决定, 年鉴: the word a document's title ends in says what kind it is
# An English question names a document the same way (the 2016 report, the 2017 government work report).
_ENGLISH_KINDS = {"report": "报告", "communique": "公报", "communiqué": "公报", "bulletin": "公报", "yearbook": "年鉴", "notice": "通知"}
_ENGLISH_NAMED = re.compile(rf"\b((?:19|20)\d{{2}})\s+(?:[a-z-]+\s+){{0,4}}?({'|'.join(_ENGLISH_KINDS)})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    year: int | None

    @property
    def kind(self) -> str:
        """The title's last word (报告 of 2016年国务院政府工作报告), for a title naming its own year (a
        yearly document; an encyclopedia's 北京大学 has no kind); empty otherwise."""
        title = normalize(self.title)
        tail = title[-_KIND_CHARS:]
        return tail if self.year and f"{self.year}年" in title and len(_CJK.findall(tail)) == _KIND_CHARS else ""

    @property
    def series(self) -> str:
        """A dated title without its year (国务院政府工作报告 of 2016年国务院政府工作报告): the name of the
        series of documents it belongs to; empty for a title that does not open with a year."""
        rest = _YEAR_FIRST.sub("", normalize(self.title), count=1)
        return rest if rest != normalize(self.title) and len(rest) >= 4 else ""


@dataclass(frozen=True)
class Filters:
    """What a caller limits a question to: some documents, a date range (ISO dates, inclusive)."""

    doc_ids: frozenset[str] = frozenset()
    date_from: str = ""
    date_to: str = ""

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.date_from or self.date_to)

    def admits(self, doc_id: str, date: str) -> bool:
        """A document (its id and ISO date) passes: one of the ids asked, dated within the range."""
        if self.doc_ids and doc_id not in self.doc_ids:
            return False
        return not ((self.date_from and (not date or date < self.date_from)) or (self.date_to and (not date or date[:len(self.date_to)] > self.date_to)))


def valid_date(text: str) -> bool:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real year, month or day."""
    for layout in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            datetime.strptime(text, layout)
        except ValueError:
            continue
        return len(text) == {"%Y-%m-%d": 10, "%Y-%m": 7, "%Y": 4}[layout]
    return False


class Scope:
    """Callable: question text → the doc ids it names by year and kind, or by series (None when it names none)."""

    def __init__(self, chunks: list[Chunk]) -> None:
        seen: dict[str, Document] = {}
        self._rows: dict[str, list[int]] = {}  # each document's rows in the index, and its date
        self._dates: dict[str, str] = {}
        for row, chunk in enumerate(chunks):
            seen.setdefault(chunk.doc_id, Document(chunk.doc_id, chunk.title, chunk.year))
            self._rows.setdefault(chunk.doc_id, []).append(row)
            self._dates.setdefault(chunk.doc_id, chunk.date or "")
        self.documents = list(seen.values())
        self._series = [(d.doc_id, d.series) for d in self.documents if d.series]
        self._title_chars = {d.doc_id: set(normalize(d.title)) for d in self.documents}
        kinds = sorted({d.kind for d in self.documents if d.kind}, key=len, reverse=True)
        # The year, then at most 10 characters that are all the title's own (政府工作 of 政府工作报告), then its kind.
        self._named = re.compile(rf"((?:19|20)\d{{2}})年(?:的|度)?([\u4e00-\u9fff]{{0,10}}?)({'|'.join(map(re.escape, kinds))})") if kinds else None

    def __call__(self, question: str) -> frozenset[str] | None:
        text = _ENGLISH_NAMED.sub(lambda m: f"{m.group(1)}年{_ENGLISH_KINDS[m.group(2).lower()]}", normalize(question))
        named = self._by_year(text)
        if named is None:
            named = frozenset(doc_id for doc_id, series in self._series if series in text) or None
        return named

    def rows(self, filters: Filters | None, named: frozenset[str] | None) -> set[int] | None:
        """The index rows of the documents both the caller's ``filters`` and the question (``named``) admit;
        None when neither limits anything."""
        if not filters and named is None:
            return None
        return {row for doc_id, rows in self._rows.items()
                if (named is None or doc_id in named) and (not filters or filters.admits(doc_id, self._dates[doc_id]))
                for row in rows}

    def _by_year(self, text: str) -> frozenset[str] | None:
        if self._named is None:
            return None
        named = None
        for match in self._named.finditer(text):
            year, middle, kind = int(match.group(1)), match.group(2), match.group(3)
            of_kind = [d for d in self.documents if d.kind == kind and set(middle) <= self._title_chars[d.doc_id]]
            if not of_kind:
                continue  # the words between are not a title's (2024年电子信息产业发展报告 when no title says 电子信息)
            named = (named or frozenset()) | {d.doc_id for d in of_kind if d.year == year}
        return named


def titles_named(question: str, titles: set[str]) -> set[str]:
    """The titles the question names whole (尖鳍魣体长可达到多少 names the article 尖鳍魣): where an article
    is about one thing, another's passage (a like fish's 体长可达25公分) does not answer. A title inside
    another one named gives way to it (石家庄 to 石家庄国际生物医药园)."""
    text = normalize(question)
    named = {title for title in titles if len(title) >= 2 and normalize(title) in text}
    return {title for title in named if not any(title != other and title in other for other in named)}
