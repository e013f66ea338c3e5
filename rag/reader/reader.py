"""Read passages with the trained span reader: the best answer spans and how sure it is.

Why windows are chosen: one 256-token window costs ~100 ms on a laptop core, so a long passage
is cut into overlapping windows and only those sharing most with the question are read.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..batching import Batcher
from ..runtime import ONNX_RUNTIMES, check_runtime, from_layer, prepare
from .features import AGREEMENT_CANDIDATES, MAX_LENGTH, MAX_QUESTION_TOKENS, STRIDE, Span, Window, best_spans, by_agreement, cut_windows, trimmed
from .metrics import f1

BATCH_WINDOWS = 32  # windows of concurrent questions joined in one call at most
_SUB_BATCH = 16  # windows run through the model together, sorted by length

# An ONNX export of the reader must read these as torch does (with the runtime's own check pair first).
_AGREEMENT_QUESTIONS = [
    ("石家庄国际生物医药园占地多少亩？", "石家庄国际生物医药园占地约3000亩，已入驻企业120家，年产值超过200亿元。"),
    ("免费校车在什么时段运行？", "市教育局征求意见：新开通的免费校车线路将在早晚上下学时段接送中小学生，沿途设站28个。"),
]
_MAX_LOGIT_DIFF = 0.01  # fp32 only: int8 is held to the same best spans instead
# How much of torch's best span an int8 export's must share (character F1): int8 may move an edge by a
# qualifier (约3000亩 → 3000亩, seen on one CPU and not another), not the answer. fp32 reads the same span.
MIN_INT8_SPAN_F1 = 0.8
_IGNORED = set("的了是在和与及或吗呢吧啊？?，,。、：:；;！!“”\"'（）() 什么哪些个谁多少几年月日请问")


def pad_windows(windows: list[Window], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and attention mask of ``windows``, padded to the longest (int64, as both runtimes take)."""
    ids = np.full((len(windows), max(len(w.input_ids) for w in windows)), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, window in enumerate(windows):
        ids[row, :len(window.input_ids)], mask[row, :len(window.input_ids)] = window.input_ids, 1
    return ids, mask


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
                 windows_per_passage: int = 2, runtime: str = "torch", max_windows: int = BATCH_WINDOWS,
                 workers: int = 1, home: Path | None = None, passage_tokens: int | None = None) -> None:
        """``runtime``: see :mod:`rag.runtime`; the ONNX ones export under ``home`` (default: the settings').
        ``passage_tokens``: a window holds at most this much of a passage (None: ``max_length`` in all)."""
        import torch
        from transformers import AutoTokenizer, XLMRobertaForQuestionAnswering
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        torch.set_num_threads(threads)
        self.path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.runtime = check_runtime(runtime)
        if runtime in ONNX_RUNTIMES:
            from ..config import get_settings

            self.model = onnx_session(self.path, runtime, home or get_settings().home, threads)
            # ORT runs concurrent calls on the callers' threads: no lock, as with torch.
            self._run = lambda ids, mask: tuple(self.model.run(None, {"input_ids": ids, "attention_mask": mask}))
        else:
            model = XLMRobertaForQuestionAnswering.from_pretrained(str(path)).eval()
            # int8 only in the top half: int8 in the bottom layers changed a third of best spans (see runtime.export).
            self.model = prepare(model, runtime, from_layer(model.config.num_hidden_layers // 2))
            self._run = self._torch_run
        self.max_length, self.stride, self.windows_per_passage = max_length, stride, windows_per_passage
        self.passage_tokens = passage_tokens
        self._tokenizing = threading.Lock()  # a fast tokenizer's truncation settings are shared state
        self.batching(max_windows, workers)

    def batching(self, max_windows: int = BATCH_WINDOWS, workers: int = 1) -> None:
        """Windows of concurrent questions share one model call (up to ``max_windows``; 1 turns
        it off), on ``workers`` threads (torch inference needs no lock; each worker uses the
        process's torch thread count)."""
        if getattr(self, "batcher", None):
            self.batcher.close()
        self.batcher = Batcher(self._batch_logits, max_windows, workers, name="reader")

    def windows(self, question: str, passages: list[str], limit: int | None = -1,
                passage_tokens: int | None = None) -> list[Window]:
        """Every window of a short passage; for a long one, the ``limit`` sharing most with the
        question (by default ``windows_per_passage``; None reads them all). ``passage_tokens``: this
        call's share of a window for the passage, when shorter than the reader's own."""
        limit = self.windows_per_passage if limit == -1 else limit
        max_length, stride = self.max_length, self.stride
        passage_tokens = min((t for t in (passage_tokens, self.passage_tokens) if t), default=None)
        with self._tokenizing:
            if passage_tokens:  # the question's tokens, the passage's share and <s> </s></s> </s>
                asked_tokens = min(len(self.tokenizer(question, add_special_tokens=False)["input_ids"]), MAX_QUESTION_TOKENS)
                max_length = min(max_length, asked_tokens + 4 + passage_tokens)
                stride = min(stride, passage_tokens // 2)
            cut = cut_windows(self.tokenizer, question, passages, max_length, stride)
        asked = question_chars(question)
        chosen = []
        for number, passage in enumerate(passages):
            own = [w for w in cut if w.passage == number]
            own.sort(key=lambda w: -overlap(w, asked, passage))
            chosen.extend(own[:limit])
        return chosen

    def logits(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of ``windows`` (rows padded to the longest), run with whatever
        other questions' windows are waiting."""
        rows = self._split_run(windows)
        width = max(len(start) for start, _ in rows)
        starts = np.full((len(rows), width), -1e4, dtype=np.float32)
        ends = starts.copy()
        for i, (start, end) in enumerate(rows):
            starts[i, :len(start)], ends[i, :len(end)] = start, end
        return starts, ends

    def _split_run(self, windows: list[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        """One question's windows dealt over the workers by length (longest first, round robin), so a
        lone question uses every worker's core; under load the parts queue like any other."""
        parts = min(self.batcher.workers, len(windows))
        if parts < 2:
            return self.batcher(windows)
        order = sorted(range(len(windows)), key=lambda i: -len(windows[i].input_ids))
        dealt = [order[k::parts] for k in range(parts)]
        rows: list = [None] * len(windows)
        for part, results in zip(dealt, self.batcher.parts([[windows[i] for i in part] for part in dealt])):
            for i, row in zip(part, results):
                rows[i] = row
        return rows

    def _torch_run(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    def _batch_logits(self, windows: list[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        """One (start, end) logits pair per window, trimmed to its length; windows of like length
        run together so a long one does not pad the rest."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        results: list = [None] * len(windows)
        for first in range(0, len(order), _SUB_BATCH):
            chunk = order[first:first + _SUB_BATCH]
            starts, ends = self._run(*pad_windows([windows[i] for i in chunk], self.tokenizer.pad_token_id))
            for row, i in enumerate(chunk):
                length = len(windows[i].input_ids)
                results[i] = (starts[row, :length].copy(), ends[row, :length].copy())
        return results

    def read(self, question: str, passages: list[str], top: int = 5, windows_per_passage: int | None = -1,
             passage_tokens: int | None = None) -> list[Span]:
        """Up to ``top`` spans of each passage read, ordered by :func:`by_agreement` within the
        passage; passages by their best span score. ``Span.passage`` says whose passage."""
        windows = self.windows(question, passages, windows_per_passage, passage_tokens)
        if not windows:
            return []
        starts, ends = self.logits(windows)
        proposed: dict[int, list[Span]] = {}
        for window, start, end in zip(windows, starts, ends):
            proposed.setdefault(window.passage, []).extend(
                best_spans(window, start, end, passages[window.passage], top=AGREEMENT_CANDIDATES))
        ordered = sorted((own for own in proposed.values() if own), key=lambda own: -max(span.score for span in own))
        return [span for own in ordered for span in trimmed(by_agreement(own))[:top]]

    __call__ = read


def same_span(want: str, have: str, runtime: str) -> bool:
    """Whether an export's best span ``have`` reads as torch's ``want`` closely enough for ``runtime``."""
    return have == want if runtime == "onnx" else f1(have, [want]) >= MIN_INT8_SPAN_F1


def onnx_agreement(source: Path, candidate, runtime: str) -> dict:
    """How a new ONNX export of the reader at ``source`` agrees with the torch reader (logits and best
    spans on fixed questions); an OnnxError if not well enough."""
    from ..runtime import onnx

    reader, diffs = Reader(source, threads=1), []
    questions = [onnx.READER_CHECK, *_AGREEMENT_QUESTIONS]
    for question, passage in questions:
        windows = reader.windows(question, [passage], None)
        expected = reader._batch_logits(windows)
        starts, ends = candidate.run(None, dict(zip(onnx.INPUTS, pad_windows(windows, reader.tokenizer.pad_token_id))))
        for row, (window, (start, end)) in enumerate(zip(windows, expected)):
            got = starts[row, :len(start)], ends[row, :len(end)]
            diffs.append(max(float(np.abs(got[0] - start).max()), float(np.abs(got[1] - end).max())))
            want, have = best_spans(window, start, end, passage, top=1), best_spans(window, *got, passage, top=1)
            if len(want) != len(have) or want and not same_span(want[0].text, have[0].text, runtime):
                raise onnx.OnnxError(f"the {runtime} export of {source} reads {[s.text for s in have]} where torch reads "
                                     f"{[s.text for s in want]} ({question})")
    if runtime == "onnx" and max(diffs) > _MAX_LOGIT_DIFF:
        raise onnx.OnnxError(f"the onnx export of {source} differs from torch by {max(diffs):.3g} in its logits")
    return {"max_logit_diff": round(max(diffs), 4), "best_spans_agree": len(questions)}


def onnx_session(path: Path, runtime: str, home: Path, threads: int = 1):
    """The reader's ONNX Runtime session, exported on first use and checked against the torch reader."""
    from ..runtime import onnx

    return onnx.load("reader", Path(path), runtime, home, threads, agreement=onnx_agreement)
