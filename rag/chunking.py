"""Split articles into paragraph chunks, repairing what newspaper layout breaks.

A newspaper dump interleaves an article with photo captions, bylines, continuation markers
((上接第一版)) and page breaks that cut a paragraph in two; sometimes a paragraph is printed
twice, once cut short. Each article is read as a list of blocks (one per line), each block is
classified, fragments are rejoined, duplicates dropped, tiny paragraphs attached to a
neighbour and over-long ones split at sentence ends. Every chunk keeps the character spans of
the document text it was made from.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate

from .documents import Document
from .tokenizing import Tokenizer, default_tokenizer, normalize

HEADLINE_CHARS = 80  # a longer first line is a passage, even one cut off mid-sentence
MAX_CHARS = 400  # longer paragraphs are split at sentence ends into pieces of about TARGET_CHARS
TARGET_CHARS = 250
DUPLICATE_CHARS = 12  # a shorter paragraph found whole inside another is a copy cut short; shorter ones may repeat
TINY_CHARS = 16  # shorter paragraphs are lead-ins or tails: attached to a neighbour
CONTINUATION_WINDOW = 8  # blocks searched for the rest of a paragraph cut by a page break
SHORT_HEADING = 40

_MARKER = re.compile(r"^[(（]\s*上接\s*第?\s*[0-9０-９一二三四五六七八九十]+\s*版\s*[)）]\s*")
_CAPTION = re.compile(r"^(▲|■\s*图|图为)|记者\s*\S+\s*摄$|摄$")
_BYLINE = re.compile(r"^(□|(\S{0,8}日报)?(首席)?记者\s|[(（]记者)")
_ENDS_SENTENCE = re.compile(r"([。！？!?…；;：:]|——)[”’」』)）\"]*$")
_OPENS_NEW = re.compile(r"^[“「『\"《【(（]")
# A section number of Chinese documents (一、 （二） 第三章): 一、 and 第…章 open sections, （二） and 第…节 subsections.
_NUMBERED = re.compile(r"^(?:(?P<top>[一二三四五六七八九十]+、|第[一二三四五六七八九十百]+(?:章|部分|篇))"
                       r"|(?P<sub>[（(][一二三四五六七八九十]+[）)]|第[一二三四五六七八九十百]+节))")
_HEADLINE_SPACE = re.compile(r"^[^，,。]{2,40}[\u4e00-\u9fff”]\s+[\u4e00-\u9fff“][^，,。]{1,40}$")
_REFERS_BACK = re.compile(r"^[“\"]?(这|该|此|其)")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])[”’」』]*")
_CLAUSE_END = re.compile(r"[，,、：:]")
_TAIL = 32  # enough of a text's end to see whether it ends a sentence (closing quotes included)


@dataclass
class Block:
    start: int
    end: int
    text: str
    kind: str  # body | heading | caption | byline | marker
    continued: bool = False  # began with a continuation marker: it continues another page, not a fragment here
    level: int = 1  # heading depth (# = 1, ## = 2 …); unmarked headings count as top level


@dataclass
class Chunk:
    doc_id: str
    paragraph: int
    text: str
    spans: list[tuple[int, int]]
    heading: str = ""
    kind: str = "body"  # body | caption | byline
    title: str = ""
    date: str = ""
    source: str = ""
    context: str = field(default="", repr=False)
    ocr: bool = False  # its text was read off a page image by OCR (citations say so)

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.paragraph}"

    @property
    def year(self) -> int | None:
        """The article's year: what 今年/去年 in the passage are relative to."""
        return int(self.date[:4]) if self.date[:4].isdigit() else None

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]

    def retrieval_text(self) -> str:
        """What the retrievers see: the context (title, heading) before the passage."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.retrieval_text().encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict:
        return {
            "doc_id": self.doc_id, "paragraph": self.paragraph, "text": self.text,
            "spans": [list(s) for s in self.spans], "heading": self.heading, "kind": self.kind,
            "title": self.title, "date": self.date, "source": self.source, "context": self.context,
        } | ({"ocr": True} if self.ocr else {})

    @classmethod
    def from_dict(cls, data: dict) -> "Chunk":
        return cls(**{**data, "spans": [tuple(s) for s in data["spans"]]})


def _blocks(text: str) -> list[Block]:
    """One block per non-empty line, classified by how it looks."""
    blocks, pos = [], 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped:
            continue
        start += len(line) - len(line.lstrip())
        end = start + len(stripped)
        continued = False
        marker = _MARKER.match(stripped)
        if marker:
            if marker.end() == len(stripped):
                blocks.append(Block(start, end, stripped, "marker"))
                continue
            start += marker.end()
            stripped = stripped[marker.end():]
            continued = True
        if stripped.startswith("#"):
            hashes = len(stripped) - len(stripped.lstrip("#"))
            blocks.append(Block(start + hashes, end, stripped[hashes:].strip(), "heading", level=hashes))
        elif _subtitle(stripped) or (stripped.startswith("■") and not _CAPTION.search(stripped)):
            blocks.append(Block(start, end, stripped.lstrip("■ ").strip(), "heading"))
        elif _CAPTION.search(stripped) and len(stripped) < 120:
            blocks.append(Block(start, end, stripped, "caption"))
        elif _BYLINE.match(stripped) and len(stripped) < 60 and not _ENDS_SENTENCE.search(stripped.rstrip(")）")):
            blocks.append(Block(start, end, stripped, "byline"))
        else:
            blocks.append(Block(start, end, stripped, "body", continued))
    return blocks


def _subtitle(line: str) -> bool:
    """A short line led by a dash (——访高新区工委书记) subtitles the heading above it; a dash-led line that
    states sentences (——经济运行稳中向好。国内生产总值…) is an item of a list, and its text is the document's."""
    return line.startswith("——") and len(line) <= SHORT_HEADING and not _SENTENCE_END.search(line.rstrip("。；;"))


def _numbered_level(heading: str) -> int:
    """A heading's depth by its section number: 三、2014年重点工作 → 1, （一）推动改革 → 2, so a subsection's
    passages keep the section above in their context (its year, plan or review); unnumbered → 1."""
    match = _NUMBERED.match(heading)
    return 2 if match and match.group("sub") else 1


def _mark_dateline(blocks: list[Block], lines: int = 3) -> None:
    """A dateline among the first lines (2024年5月20日, 发布时间：2024-05-20) stands apart: it ends no
    sentence, so it would otherwise be read as a paragraph cut by a page break and joined to the next."""
    from .formats import DATELINE_SHORT, dateline

    for block in blocks[:lines]:
        if (block.kind == "body" and len(block.text) <= 2 * DATELINE_SHORT and not _ENDS_SENTENCE.search(block.text)
                and dateline(block.text, lines=1)):
            block.kind = "byline"


class Chunker:
    """Turn a :class:`Document` into :class:`Chunk` objects (callable, settings in ``__init__``)."""

    def __init__(self, tokenizer: Tokenizer | None = None, max_chars: int = MAX_CHARS) -> None:
        self.tokenizer = tokenizer or default_tokenizer()
        self.max_chars = max_chars

    def __call__(self, document: Document) -> list[Chunk]:
        blocks = _blocks(document.text)
        _mark_dateline(blocks)
        self._mark_headings(blocks)
        paragraphs = self._rejoin(blocks)
        paragraphs = _drop_duplicates(paragraphs)
        paragraphs = _attach_tiny(paragraphs)
        chunks: list[Chunk] = []
        ocr_spans = document.meta.get("ocr_spans") or []
        for para in paragraphs:
            for spans in self._split_long(document.text, para["spans"]):
                text = "".join(document.text[s:e] for s, e in spans)
                heading = para["heading"]
                context = document.title if not heading or heading in document.title else f"{document.title}\n{heading}"
                previous = next((c for c in reversed(chunks) if c.kind == "body"), None)
                if previous and _REFERS_BACK.match(text):  # "这个总面积达2.6万亩的产业园": what 这个 refers to
                    context += "\n" + _last_sentence(previous.text)
                chunks.append(Chunk(
                    doc_id=document.doc_id, paragraph=len(chunks) + 1, text=text, spans=spans,
                    heading=heading, kind=para["kind"], title=document.title, date=document.date,
                    source=document.source, context=context,
                    ocr=any(s < b and a < e for s, e in spans for a, b in ocr_spans),
                ))
        return chunks

    # Step 1: a short body line that ends mid-sentence is a heading unless it reads on into the next line.
    def _mark_headings(self, blocks: list[Block]) -> None:
        for i, block in enumerate(blocks):
            if block.kind != "body" or _ENDS_SENTENCE.search(block.text):
                continue
            if (i == 0 or _HEADLINE_SPACE.search(block.text)) and len(block.text) <= HEADLINE_CHARS:
                block.kind = "heading"  # the first line, or a headline set in spaced phrases
                continue
            if len(block.text) > SHORT_HEADING:
                continue
            following = next((b for b in blocks[i + 1:] if b.kind == "body"), None)
            closing = following is None or (following is blocks[-1] and len(following.text) <= SHORT_HEADING
                                            and not _ENDS_SENTENCE.search(following.text))
            if closing:
                continue  # the lines closing a notice (石家庄市人民政府办公室 / 2021年12月21日) are its text
            section = _NUMBERED.match(block.text)
            if (section and section.group("top")) or not self._is_fragment(block.text, following.text):
                # 一、2013年工作回顾 opens a section even where jieba reads a word across the seam (回顾|过去一年)
                block.kind, block.level = "heading", _numbered_level(block.text)

    def _is_fragment(self, text: str, following: str) -> bool:
        if len(text) > SHORT_HEADING:
            return True
        clauses = re.split(r"[，,、]", text)
        if len(clauses) > 1 and len(clauses[-1]) <= 6:  # "…的党，是我们开创" breaks off; a headline clause runs longer
            return True
        return self._word_crosses(text, following)

    def _word_crosses(self, head: str, tail: str) -> bool:
        """Does jieba read a word across the seam of ``head`` + ``tail`` (科创资|源 → 资源)?"""
        left, right = normalize(head[-4:]), normalize(tail[:4])
        pos = 0
        for word in self.tokenizer.words(left + right) if left and right else []:
            start = (left + right).find(word, pos)
            if start < len(left) < start + len(word):
                return True
            pos = max(pos, start + len(word)) if start >= 0 else pos
        return False

    # Step 2: rejoin paragraphs cut by page or column breaks; keep captions and bylines as their own chunks.
    def _rejoin(self, blocks: list[Block]) -> list[dict]:
        consumed: set[int] = set()
        paragraphs: list[dict] = []
        trail: list[tuple[int, str]] = []  # the headings above this point, outermost first
        for i, block in enumerate(blocks):
            if block.kind == "heading":
                if block.text.startswith("——") and trail:  # a subtitle belongs to the heading above it
                    trail[-1] = (trail[-1][0], f"{trail[-1][1]} {block.text}")
                else:
                    trail = [h for h in trail if h[0] < block.level] + [(block.level, block.text)]
                continue
            heading = " ".join(text for _, text in trail[-2:])  # the article title is context already
            if block.kind == "marker" or i in consumed:
                continue
            spans = [(block.start, block.end)]
            parts, tail = [block.text], block.text[-_TAIL:]
            if block.kind == "body":
                j = i
                while not _ENDS_SENTENCE.search(tail) and (j := self._continuation(blocks, j, tail, consumed)) is not None:
                    consumed.add(j)
                    spans.append((blocks[j].start, blocks[j].end))
                    parts.append(blocks[j].text)
                    tail = (tail + blocks[j].text)[-_TAIL:]
            paragraphs.append({"spans": spans, "text": "".join(parts), "kind": block.kind, "heading": heading})
        return paragraphs

    def _continuation(self, blocks: list[Block], i: int, text: str, consumed: set[int]) -> int | None:
        """Index of the block that carries on the fragment ``text`` ending at block ``i``, if any."""
        skipped_structure = False
        for j in range(i + 1, min(len(blocks), i + 1 + CONTINUATION_WINDOW)):
            candidate = blocks[j]
            if j in consumed:
                continue
            if candidate.kind in ("caption", "byline", "marker"):
                continue
            if candidate.kind == "heading":
                skipped_structure = True
                continue
            eligible = not candidate.continued and not _OPENS_NEW.match(candidate.text)
            if eligible and self._word_crosses(text, candidate.text):
                return j
            if eligible and not skipped_structure:
                return j
            skipped_structure = True
        return None

    # Step 4: split over-long paragraphs at sentence ends; a sentence longer than a chunk at clause ends, else by length.
    def _split_long(self, text: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
        total = sum(e - s for s, e in spans)
        if total <= self.max_chars:
            return [spans]
        pieces, current, length = [], [], 0
        for s, e in spans:
            cut = s
            for end, closes in self._ends(text, s, e):
                if current and length + end - cut > self.max_chars:  # no chunk grows past max_chars
                    pieces.append(current)
                    total -= length
                    current, length = [], 0
                current.append((cut, end))
                length += end - cut
                cut = end
                if closes and length >= TARGET_CHARS and total - length > TINY_CHARS * 3:
                    pieces.append(current)
                    total -= length
                    current, length = [], 0
        if current:
            pieces.append(current)
        return [[(s, e) for s, e in piece if e > s] for piece in pieces if any(e > s for s, e in piece)]

    def _ends(self, text: str, start: int, end: int):
        """(position, whether a piece may close there) for the pieces of ``text[start:end]``: after each
        sentence, and inside a sentence longer than ``max_chars`` (a 49 MB line without a full stop)
        after a clause, else every TARGET_CHARS. The span's own end closes nothing: the next line may go on."""
        cut = start
        for stop, closes in [(m.end(), True) for m in _SENTENCE_END.finditer(text, start, end)] + [(end, False)]:
            while stop - cut > self.max_chars:
                clauses = [m.end() for m in _CLAUSE_END.finditer(text, cut + TARGET_CHARS // 2, cut + TARGET_CHARS)]
                cut = clauses[-1] if clauses else cut + TARGET_CHARS
                yield cut, True
            if stop > cut:
                yield stop, closes
                cut = stop


def _last_sentence(text: str, limit: int = 80) -> str:
    sentences = [s for s in re.split(r"(?<=[。！？!?；;])", text) if s.strip()]
    return (sentences[-1] if sentences else text)[-limit:]


def _dedup_form(text: str) -> str:
    """Width-folded, lower-case text: two printings of one paragraph compare equal (C speed, unlike normalize)."""
    return unicodedata.normalize("NFKC", text).lower()


def _drop_duplicates(paragraphs: list[dict]) -> list[dict]:
    """A paragraph printed twice, once cut short, is kept once: the complete version.

    A page break cuts a printed line short; it does not start one mid-line. So a cut copy starts where
    a line of the complete paragraph starts, and only those places are looked up, by the copy's first
    characters (a hash lookup): linear in the text, where comparing every pair took 21 s for 16k lines.
    """
    norms, starts = [], []
    for para in paragraphs:
        lengths, pos, parts = [], 0, []
        for s, e in para["spans"]:
            parts.append(_dedup_form(para["text"][pos:pos + e - s]))
            lengths.append(len(parts[-1]))
            pos += e - s
        norms.append("".join(parts))
        starts.append(list(accumulate(lengths[:-1], initial=0)))
    same: dict[str, list[int]] = {}  # text -> the paragraphs that read so
    for i, norm in enumerate(norms):
        if len(norm) >= DUPLICATE_CHARS:
            same.setdefault(norm, []).append(i)
    lengths_by_head: dict[str, set[int]] = {}
    for norm in same:
        lengths_by_head.setdefault(norm[:DUPLICATE_CHARS], set()).add(len(norm))
    dropped = {i for group in same.values() for i in group[1:]}  # the same text twice: the first is kept
    found: set[str] = set()
    for j, norm in enumerate(norms):
        for b in starts[j]:
            for length in lengths_by_head.get(norm[b:b + DUPLICATE_CHARS], ()):
                copy = norm[b:b + length]
                if b + length <= len(norm) and length < len(norm) and copy not in found and copy in same:
                    found.add(copy)  # a shorter text inside a longer one: every paragraph reading so goes
                    dropped.update(same[copy])
    return [para for i, para in enumerate(paragraphs) if i not in dropped]


def _attach_tiny(paragraphs: list[dict]) -> list[dict]:
    """Tiny body paragraphs (lead-ins such as 这支撑来自贴心服务。) join the next paragraph of their section."""
    result: list[dict] = []
    pending: dict | None = None
    for para in paragraphs:
        if para["kind"] != "body":
            result.append(para)
            continue
        if pending is not None and pending["heading"] == para["heading"]:
            para = {**para, "spans": pending["spans"] + para["spans"], "text": pending["text"] + para["text"]}
            pending = None
        elif pending is not None:
            result.append(pending)
            pending = None
        if len(para["text"]) < TINY_CHARS:
            pending = para
        else:
            result.append(para)
    if pending is not None:
        previous = next((p for p in reversed(result) if p["kind"] == "body" and p["heading"] == pending["heading"]), None)
        if previous is not None:
            previous["spans"] = previous["spans"] + pending["spans"]
            previous["text"] += pending["text"]
        else:
            result.append(pending)
    return result


def chunk_documents(documents: list[Document], chunker: Chunker | None = None) -> list[Chunk]:
    chunker = chunker or Chunker()
    return [chunk for document in documents for chunk in chunker(document)]
