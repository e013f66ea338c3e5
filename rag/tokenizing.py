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
from collections.abc import Sequence
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


class Tokenizer:
    """jieba in search mode (words and their sub-words) with the corpus's names as a user dictionary.

    One-character tokens are kept: 区, 年 and 县 carry meaning in these questions.
    """

    def __init__(self) -> None:
        self._jieba = jieba.Tokenizer()
        self._lock = threading.Lock()
        with self._lock:
            self._jieba.initialize()
            with resources.files("rag").joinpath("data/userdict.txt").open("r", encoding="utf-8") as handle:
                self._jieba.load_userdict(handle)

    def words(self, text: str) -> list[str]:
        """Plain segmentation of already-normalised text (no sub-words), keeping punctuation out."""
        return [w for w in self._jieba.lcut(text) if _WORD.search(w)]

    def __call__(self, text: str) -> list[str]:
        norm = normalize(text)
        return [w for w in self._jieba.lcut_for_search(norm) if _WORD.search(w) and not w.isspace()]


@lru_cache(maxsize=1)
def default_tokenizer() -> Tokenizer:
    return Tokenizer()
