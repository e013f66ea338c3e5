"""Read passages with the trained span reader: the best answer spans and how sure it is.

Why windows are chosen: one 256-token window costs ~100 ms on a laptop core, so a long passage
is cut into overlapping windows and only those sharing most with the question are read.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..runtime import from_layer, prepare
from .features import MAX_LENGTH, STRIDE, Span, Window, best_spans, cut_windows

_IGNORED = set("的了是在和与及或吗呢吧啊？?，,。、：:；;！!“”\"'（）() 什么哪些个谁多少几年月日请问")


def question_chars(question: str) -> set[str]:
    """The characters of a question that say what it is about (not 的, 什么, punctuation)."""
    return {ch for ch in question if ch not in _IGNORED}


def overlap(window: Window, asked: set[str], passage: str) -> int:
    """How many of the question's characters the window's part of the passage holds."""
    inside = [o for o in window.offsets if o is not None]
    if not inside:
        return 0
    text = passage[inside[0][0]:inside[-1][1]]
    return sum(1 for ch in asked if ch in text)


class Reader:
    """Callable: (question, passages) → spans, best first, each with its window's no-answer score."""

    def __init__(self, path: Path, threads: int = 1, max_length: int = MAX_LENGTH, stride: int = STRIDE,
                 windows_per_passage: int = 2, runtime: str = "torch") -> None:
        import torch
        from transformers import AutoTokenizer, XLMRobertaForQuestionAnswering
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.runtime = runtime
        model = XLMRobertaForQuestionAnswering.from_pretrained(str(path)).eval()
        # int8 only in the top half: the layers trained for reading (training freezes the bottom half).
        self.model = prepare(model, runtime, from_layer(model.config.num_hidden_layers // 2))
        self.max_length, self.stride, self.windows_per_passage = max_length, stride, windows_per_passage
        self._lock = threading.Lock()  # torch inference is not re-entrant across request threads

    def windows(self, question: str, passages: list[str], limit: int | None = -1) -> list[Window]:
        """Every window of a short passage; for a long one, the ``limit`` sharing most with the
        question (by default ``windows_per_passage``; None reads them all)."""
        limit = self.windows_per_passage if limit == -1 else limit
        cut = cut_windows(self.tokenizer, question, passages, self.max_length, self.stride)
        asked = question_chars(question)
        chosen = []
        for number, passage in enumerate(passages):
            own = [w for w in cut if w.passage == number]
            own.sort(key=lambda w: -overlap(w, asked, passage))
            chosen.extend(own[:limit])
        return chosen

    def logits(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        width = max(len(w.input_ids) for w in windows)
        ids = torch.full((len(windows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, window in enumerate(windows):
            ids[row, :len(window.input_ids)] = torch.tensor(window.input_ids)
            mask[row, :len(window.input_ids)] = 1
        with self._lock, torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=mask)
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    def read(self, question: str, passages: list[str], top: int = 5, windows_per_passage: int | None = -1) -> list[Span]:
        """The ``top`` best spans of each window, best first; ``Span.passage`` says whose passage."""
        windows = self.windows(question, passages, windows_per_passage)
        if not windows:
            return []
        starts, ends = self.logits(windows)
        spans = []
        for window, start, end in zip(windows, starts, ends):
            spans.extend(best_spans(window, start, end, passages[window.passage], top=top))
        spans.sort(key=lambda s: -s.score)
        return spans

    __call__ = read
