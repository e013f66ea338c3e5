"""Text normalisation and jieba tokens for keyword search and answer matching.

Normalisation never touches displayed text: it is applied to copies used for matching
(full/half width, traditional → simplified, ``1,100`` → ``1100``, case).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

import jieba
import zhconv

jieba.setLogLevel(logging.WARNING)

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_WORD = re.compile(r"[\w\u3400-\u9fff]", re.U)


def normalize(text: str) -> str:
    """Matching form of ``text``: NFKC width folding, simplified characters, no digit grouping, lower case.

    Length-preserving except for removed digit-group commas, so use :func:`normalize_with_map`
    when offsets must point back into the original.
    """
    return normalize_with_map(text)[0]


def normalize_with_map(text: str) -> tuple[str, Sequence[int]]:
    """Normalise ``text`` and return, for every output character, its index in ``text``.

    Sentence-sized texts are cached: the answer step normalises the same passages' sentences for
    question after question (it was most of the answer step's time, about 20 ms a question)."""
    return _normalize_short(text) if len(text) <= _CACHED_LENGTH else _normalize(text)


_CACHED_LENGTH = 512  # with 16,384 entries and 4-byte offsets: at most about 50 MB


@lru_cache(maxsize=16384)
def _normalize_short(text: str) -> tuple[str, Sequence[int]]:
    return _normalize(text)


def _normalize(text: str) -> tuple[str, Sequence[int]]:
    chars, origin = [], []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch)
        for out in folded:
            chars.append(out)
            origin.append(i)
    folded = "".join(chars)
    # Traditional → simplified, character for character (zh-hans never changes length for CJK).
    simplified = zhconv.convert(folded, "zh-hans")
    if len(simplified) != len(folded):
        simplified = "".join(zhconv.convert(c, "zh-hans") if len(zhconv.convert(c, "zh-hans")) == 1 else c for c in folded)
    simplified = simplified.lower()
    keep = [True] * len(simplified)
    for match in _THOUSANDS.finditer(simplified):
        keep[match.start()] = False
    out = "".join(c for c, k in zip(simplified, keep) if k)
    mapping = array("i", (o for o, k in zip(origin, keep) if k))  # compact: cached entries stay small
    return out, mapping


@lru_cache(maxsize=1)
def _general_words() -> list[tuple[str, int, str]]:
    """``data/userdict.txt``: general terms (电子信息产业, 前三季度) every tokenizer knows."""
    text = resources.files("rag").joinpath("data/userdict.txt").read_text(encoding="utf-8")
    return [(word, int(freq), tag) for word, freq, tag in
            (line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))]


class Tokenizer:
    """jieba in search mode (words and their sub-words), with general terms and a corpus's own names.

    ``words``: (word, part-of-speech tag) pairs, as :func:`corpus_words` finds them at index time; each
    is kept whole (jieba's suggested frequency) and tagged (the question reader's place and name anchors).
    One-character tokens are kept: 区, 年 and 县 carry meaning in these questions.
    """

    def __init__(self, words: Sequence[tuple[str, str]] = ()) -> None:
        self.user_words = tuple(words)
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        with self._lock:
            self._jieba.initialize()
            for word, freq, tag in _general_words():
                self._jieba.add_word(word, freq, tag)
            for word, tag in self.user_words:
                self._jieba.add_word(word, tag=tag or None)

    def words(self, text: str) -> list[str]:
        """Plain segmentation of already-normalised text (no sub-words), keeping punctuation out."""
        return [w for w in self._jieba.lcut(text) if _WORD.search(w)]

    def __call__(self, text: str) -> list[str]:
        norm = normalize(text)
        return [w for w in self._jieba.lcut_for_search(norm) if _WORD.search(w) and not w.isspace()]


@lru_cache(maxsize=8)
def tokenizer_for(words: tuple[tuple[str, str], ...] = ()) -> Tokenizer:
    """One tokenizer per user-word list (an index's), shared by every engine on it."""
    return Tokenizer(words)


def default_tokenizer() -> Tokenizer:
    """jieba's dictionary and the general terms, no corpus's names."""
    return tokenizer_for(())


# What makes a recurring compound a name: the last word says what kind of thing it is.
PLACE_ENDINGS = frozenset("区 县 市 省 镇 乡 州 新区 开发区 经开区 高新区".split())
ORG_ENDINGS = frozenset("公司 集团 园 园区 科技园 产业园 研究院 研究所 中心 医院 大学 学院 银行 药业 制药".split())
# A coined name (one word jieba's dictionary lacks) before a trade: 华普 + 生物, 康誉 + 医疗, a company.
TRADE_ENDINGS = frozenset("生物 医药 医疗 电子 通信 科技 股份 控股 实业 能源 材料 药业 制药".split())
LEVELS = frozenset("市 省 区 县".split())  # 市 + 发改委: the city's office
OFFICE_ENDS = ("局", "委", "厅", "办")
_NAME_TAGS = frozenset({"nr", "ns", "nt", "nz", "j"})
_CJK = re.compile(r"^[\u3400-\u9fff]+$")
MIN_COUNT = 2  # a compound must recur in the corpus to be added
MAX_STEM_WORDS, MAX_WORD_CHARS = 3, 12


@lru_cache(maxsize=1)
def _dictionary_tags() -> dict[str, str]:
    """jieba's dictionary: word → part-of-speech tag."""
    from jieba import posseg

    return posseg.POSTokenizer(jieba.Tokenizer(default_tokenizer()._jieba.dictionary)).word_tag_tab


def corpus_words(texts: Iterable[str], min_count: int = MIN_COUNT) -> list[tuple[str, str]]:
    """The corpus's own recurring place and organisation names, as (word, tag), for :class:`Tokenizer`.

    General rules over jieba's segmentation, for what is seen ``min_count`` times or more: up to three
    nouns, one of them a name (tagged as one in jieba's dictionary, or a word its dictionary lacks),
    before a place ending (鹿泉 + 区, 鹿泉经济 + 开发区: ``ns``) or an organisation's (河北工业 + 大学:
    ``nt``); a coined name before a trade (华普 + 生物: ``nt``); a level before an office (市 + 发改委: ``nt``).
    """
    base, tags = default_tokenizer()._jieba, _dictionary_tags()
    counts: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for line in normalize(text).splitlines():
            words = base.lcut(line)
            for i, word in enumerate(words):
                if i and words[i - 1] in LEVELS and word.endswith(OFFICE_ENDS) and 2 <= len(word) <= 4 and _CJK.match(word):
                    counts[(words[i - 1] + word, "nt")] += 1
                if i and word in TRADE_ENDINGS and len(words[i - 1]) >= 2 and _CJK.match(words[i - 1]) \
                        and words[i - 1] not in base.FREQ:
                    counts[(words[i - 1] + word, "nt")] += 1
                if word not in PLACE_ENDINGS and word not in ORG_ENDINGS:
                    continue
                stem, named = "", False
                for before in reversed(words[max(0, i - MAX_STEM_WORDS):i]):
                    tag = tags.get(before, "new")
                    if not _CJK.match(before) or not (tag.startswith("n") or tag in ("j", "new")):
                        break
                    stem, named = before + stem, named or tag in _NAME_TAGS or tag == "new"
                    if named and len(stem) >= 2 and len(stem + word) <= MAX_WORD_CHARS:
                        counts[(stem + word, "ns" if word in PLACE_ENDINGS else "nt")] += 1
    return sorted(pair for pair, n in counts.items() if n >= min_count)
