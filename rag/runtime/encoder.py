"""Sentence vectors from an ONNX session: the part of a SentenceTransformer the Embedder uses.

Why not SentenceTransformer itself: with the ONNX runtimes the torch weights need not be loaded at
all; the exported graph already pools and normalizes, so only the tokenizer, the prompts and the
batching (texts sorted by length, as sentence-transformers does) are left to do here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .export import INPUTS, transformer_folder


class OnnxEncoder:
    """What the Embedder uses of a SentenceTransformer (``tokenizer``, ``prompts``, ``encode``), on an
    ORT session whose graph pools and normalizes: texts sorted by length and batched like it."""

    def __init__(self, source: Path, session) -> None:
        from transformers import AutoTokenizer

        source = Path(source)
        folder = transformer_folder(source)
        self.session, self.tokenizer = session, AutoTokenizer.from_pretrained(str(folder))
        config = source / "config_sentence_transformers.json"
        self.prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts", {}) if config.is_file() else {}
        wiring = folder / "sentence_bert_config.json"
        self.max_seq_length = json.loads(wiring.read_text()).get("max_seq_length", 512) if wiring.is_file() else 512
        self.dimension = int(json.loads((folder / "config.json").read_text())["hidden_size"])

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def encode(self, texts: list[str], prompt_name: str | None = None, batch_size: int = 32,
               show_progress_bar: bool = False, **_) -> np.ndarray:
        """Normalized vectors of ``texts`` (float32), the prompt named ``prompt_name`` put before each."""
        from tqdm import tqdm

        prefix = self.prompts.get(prompt_name, "") if prompt_name else ""
        order = np.argsort([-len(text) for text in texts], kind="stable")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for first in tqdm(range(0, len(texts), batch_size), disable=not show_progress_bar, desc="Batches"):
            chunk = order[first:first + batch_size]
            batch = self.tokenizer([prefix + texts[i] for i in chunk], padding=True, truncation=True,
                                   max_length=self.max_seq_length, return_tensors="np")
            vectors[chunk] = self.session.run(None, {name: batch[name].astype(np.int64) for name in INPUTS})[0]
        return vectors
