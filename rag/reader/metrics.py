"""Exact match and F1 as CMRC 2018 scores them.

Why its own measure: Chinese has no spaces, so F1 counts characters (English and digit runs
as one token each) over the longest common substring, after punctuation and spaces go.
"""

from __future__ import annotations

import re
import string
import unicodedata

_PUNCTUATION = set(string.punctuation) | set(
    "－：_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』" "‘’【】〈〉〔〕﹁﹂﹃﹄．—–")
_TOKEN = re.compile(r"[a-z0-9]+|\S")


def clean(text: str) -> str:
    """What the measures compare: NFKC, lower case, no punctuation or spaces."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(c for c in text if c not in _PUNCTUATION and not c.isspace()
                    and not unicodedata.category(c).startswith("P"))


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(clean(text))


def _longest_common_substring(a: list[str], b: list[str]) -> int:
    best, row = 0, [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, 1):
            current = row[j]
            row[j] = previous + 1 if x == y else 0
            best = max(best, row[j])
            previous = current
    return best


def exact_match(prediction: str | None, answers: list[str]) -> float:
    """1.0 when the cleaned prediction equals any cleaned gold answer."""
    if not answers:
        return float(not prediction)
    cleaned = clean(prediction or "")
    return float(any(cleaned == clean(a) for a in answers))


def f1(prediction: str | None, answers: list[str]) -> float:
    """Best character F1 over the gold answers, by longest common substring."""
    if not answers:
        return float(not prediction)
    predicted = _tokens(prediction or "")
    best = 0.0
    for answer in answers:
        gold = _tokens(answer)
        common = _longest_common_substring(predicted, gold)
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
