"""Question + passage → model windows, and model logits → answer spans.

Why one module: training and reading must cut windows the same way, and a span's token
positions only mean something through the offsets recorded when the window was cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import clean

MAX_LENGTH = 256  # tokens per window (question + passage + 4 special tokens)
STRIDE = 96  # tokens shared by neighbouring windows of one long passage
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 64  # CMRC answers run up to ~100 characters, ~1.4 characters a token
NO_ANSWER = 0  # the <s> position: a window that does not answer points here
AGREEMENT_CANDIDATES = 20  # spans of one passage weighed against each other
AGREEMENT_TEMPERATURE = 0.5  # in start + end logit units: how fast a less likely span stops counting


@dataclass
class Window:
    """One model input: ``offsets[i]`` is the (start, end) characters in the passage of
    token ``i``, or None for question and special tokens."""

    passage: int  # index of the passage among those read together
    input_ids: list[int]
    offsets: list[tuple[int, int] | None]
    question: str = ""  # as the window holds it (shortened to MAX_QUESTION_TOKENS)


@dataclass(frozen=True)
class Span:
    passage: int
    start: int  # characters in the passage, end exclusive
    end: int
    text: str
    score: float  # start + end logit
    no_answer: float  # the window's <s> score: higher means this window does not answer


def cut_windows(tokenizer, question: str, passages: list[str], max_length: int = MAX_LENGTH,
                stride: int = STRIDE) -> list[Window]:
    """Windows over every passage, each holding the whole (shortened) question."""
    question_ids = tokenizer(question, add_special_tokens=False)["input_ids"][:MAX_QUESTION_TOKENS]
    question = tokenizer.decode(question_ids) if question_ids else question
    if not passages:
        return []
    encoded = tokenizer([question] * len(passages), passages, truncation="only_second",
                        max_length=max_length, stride=stride, return_overflowing_tokens=True,
                        return_offsets_mapping=True)
    windows = []
    for i, ids in enumerate(encoded["input_ids"]):
        sequence = encoded.sequence_ids(i)
        offsets = [tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][i], sequence)]
        windows.append(Window(encoded["overflow_to_sample_mapping"][i], ids, offsets, question))
    return windows


def token_span(window: Window, start_char: int, end_char: int) -> tuple[int, int] | None:
    """Token positions (inclusive) covering characters [start_char, end_char) of the passage,
    or None when the window does not hold all of them."""
    inside = [i for i, o in enumerate(window.offsets) if o is not None]
    if not inside or window.offsets[inside[0]][0] > start_char or window.offsets[inside[-1]][1] < end_char:
        return None
    start = next(i for i in inside if window.offsets[i][1] > start_char)
    end = next(i for i in reversed(inside) if window.offsets[i][0] < end_char)
    return (start, end) if start <= end else None


def restates(text: str, asked: str) -> bool:
    """A span that is a piece of the question (什么是水平型微指令 → 水平型微指令) tells nothing new.
    ``asked`` is the question as :func:`clean` leaves it. (Held-out CMRC-train questions: 6 of 522
    best spans were such pieces, all wrong; skipping them: F1 0.685 → 0.687, EM unchanged.)"""
    text = clean(text)
    return bool(text) and text in asked


_SEPARATORS = "，,。．；;：:、！!？?…"
_OPENERS, _CLOSERS = "“‘「『《〈（(【[", "”’」』》〉）)】]"


def trim(text: str) -> str:
    """A span without the spaces and separators at its edges (：0571-88765432。 → 0571-88765432), nor
    an opening mark at its end or a closing one at its start; a quoted or bracketed name stays whole
    (《全面从严治党永远在路上 2021》). A token can carry punctuation with it (NFKC reads ： as :)."""
    before = None
    while text != before:
        before = text
        text = text.strip().strip(_SEPARATORS).lstrip(_CLOSERS).rstrip(_OPENERS)
        for opener, closer in zip(_OPENERS, _CLOSERS):  # an unpaired mark at an edge
            if text.startswith(opener) and closer not in text:
                text = text[1:]
            if text.endswith(closer) and opener not in text:
                text = text[:-1]
    return text


def trimmed(spans: list[Span]) -> list[Span]:
    """``spans`` with their edges trimmed (:func:`trim`), in order, each text once; one left with
    nothing but punctuation goes. Applied after spans are weighed, so it changes what is shown, not
    what is chosen."""
    seen, kept = set(), []
    for span in spans:
        text = trim(span.text)
        if not text or (span.passage, text) in seen:
            continue
        seen.add((span.passage, text))
        start = span.start + span.text.index(text)
        kept.append(Span(span.passage, start, start + len(text), text, span.score, span.no_answer))
    return kept


def best_spans(window: Window, start_logits: np.ndarray, end_logits: np.ndarray, passage: str,
               n_best: int = 20, max_answer_tokens: int = MAX_ANSWER_TOKENS, top: int = 5) -> list[Span]:
    """The ``top`` best spans of one window: n-best starts × n-best ends, inside the passage,
    not reversed, not longer than ``max_answer_tokens``, not a piece of the question;
    score = start + end logit."""
    length = len(window.input_ids)  # logits of a batch are padded to its longest window
    start_logits, end_logits = start_logits[:length], end_logits[:length]
    no_answer = float(start_logits[NO_ANSWER] + end_logits[NO_ANSWER])
    asked = clean(window.question)
    starts = np.argsort(start_logits)[::-1][:n_best]
    ends = np.argsort(end_logits)[::-1][:n_best]
    spans = []
    for s in starts:
        if window.offsets[s] is None:
            continue
        for e in ends:
            if window.offsets[e] is None or e < s or e - s + 1 > max_answer_tokens:
                continue
            a, b = window.offsets[s][0], window.offsets[e][1]
            text = passage[a:b]
            stripped = text.strip()
            if not stripped or restates(stripped, asked):
                continue
            a += len(text) - len(text.lstrip())
            spans.append(Span(window.passage, a, a + len(stripped), stripped,
                              float(start_logits[s] + end_logits[e]), no_answer))
    spans.sort(key=lambda span: -span.score)
    return spans[:top]


def sureness(span: Span) -> float:
    """How much likelier the span is than its window's no-answer: the logits of two windows of one
    passage are not on one scale, their margins over no-answer are. (Held-out CMRC-train questions,
    433 of 522 read in several windows: F1 0.790 → 0.793, EM 0.502 → 0.510, both halves up; the
    CMRC trial, measured once after: F1 0.700 → 0.720.) Within one window it orders as the score."""
    return span.score - span.no_answer


def by_agreement(spans: list[Span], candidates: int = AGREEMENT_CANDIDATES,
                 temperature: float = AGREEMENT_TEMPERATURE) -> list[Span]:
    """One passage's spans, the one with the most expected overlap with the reader's other
    likely spans first (minimum Bayes risk for character F1).

    Why: the reader's belief often splits between a short and a long form of one answer
    (天津泰达 / 天津泰达足球俱乐部); the single top score then picks one form at random, while the
    span most others overlap is right more often. On held-out CMRC-train questions: F1 0.685 →
    0.706, EM 0.400 → 0.397 (20 candidates and temperature 0.5, chosen there on two halves).
    Overlap is counted in passage characters, so spans of overlapping windows compare; their
    sureness is counted against their own window's no-answer score (:func:`sureness`)."""
    best: dict[tuple[int, int], Span] = {}
    for span in spans:
        key = (span.start, span.end)
        if key not in best or sureness(span) > sureness(best[key]):
            best[key] = span
    ranked = sorted(best.values(), key=lambda span: -sureness(span))[:candidates]
    if len(ranked) < 2:
        return ranked
    starts, ends = np.array([s.start for s in ranked]), np.array([s.end for s in ranked])
    scores = np.array([sureness(s) for s in ranked])
    shared = np.clip(np.minimum(ends[:, None], ends) - np.maximum(starts[:, None], starts), 0, None)
    overlap = 2 * shared / ((ends - starts)[:, None] + (ends - starts))
    expected = overlap @ np.exp((scores - scores.max()) / temperature)
    return [ranked[i] for i in np.argsort(-expected, kind="stable")]
