"""Sentence and clause bounds: where a span's sentence begins and ends.

General rule: a figure or a name is judged by the sentence around it, and a quotation with no full
stop in it is one piece of its sentence. Example: in 会上说“来到本地,一切都好办;投资本地,肯定大发展”。
the quoted ；-part does not end the sentence.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?:“[^“”。！？!?]{0,80}”|「[^「」。！？!?]{0,80}」|[^。！？!?；;])*[。！？!?；;…]*[”’」』)）]*")
_FULL_STOP = re.compile(r"[。！？!?]")
CLAUSE_BREAK = re.compile(r"[，,。；;！？!?：:]")


def sentences(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each sentence of ``text``, split at ； as well as at full stops."""
    spans = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if text[m.start():m.end()].strip()]
    return spans or [(0, len(text))]


def full_sentence(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """The whole sentence holding ``text[start:end]``, from the last 。！？ before it through the first
    after it (:func:`sentences` also splits at ；)."""
    begin = max((m.end() for m in _FULL_STOP.finditer(text, 0, start)), default=0)
    stop = next((m.end() for m in _FULL_STOP.finditer(text, start if end is None else end)), len(text))
    return begin, stop


def clause_bounds(text: str, at: int, breaks: re.Pattern = CLAUSE_BREAK) -> tuple[int, int]:
    """The (start, end) of the clause holding ``text[at]``, between the ``breaks`` around it."""
    begin = max((m.end() for m in breaks.finditer(text, 0, at)), default=0)
    return begin, next((m.start() for m in breaks.finditer(text, at)), len(text))
