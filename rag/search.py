"""Hybrid retrieval: dense (FAISS) and keyword (BM25) candidates fused by reciprocal rank.

Dense search carries paraphrases and other languages; BM25 carries exact numbers and names.
Each hit says which retriever found it and at what rank, so answers can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .chunking import Chunk
from .index import Index
from .tokenizing import Tokenizer, default_tokenizer

RRF_K = 60
CANDIDATES = 50


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score (higher is better)
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float = 0.0
    bm25_score: float = 0.0
    row: int = -1

    @property
    def found_by(self) -> list[str]:
        return [name for name, rank in (("dense", self.dense_rank), ("bm25", self.bm25_rank)) if rank is not None]


@dataclass
class Query:
    """What the retrievers get: the text to embed and the keyword tokens (possibly expanded)."""

    text: str
    keywords: list[str] = field(default_factory=list)


class Searcher:
    """Callable: ``searcher(query, k)`` → fused hits. ``mode`` picks "hybrid", "dense" or "bm25"."""

    MODES = ("hybrid", "dense", "bm25")

    def __init__(self, index: Index, embedder, tokenizer: Tokenizer | None = None, dense_weight: float = 1.0, bm25_weight: float = 1.0) -> None:
        self.index = index
        self.embedder = embedder
        self.tokenizer = tokenizer or default_tokenizer()
        self.weights = {"dense": dense_weight, "bm25": bm25_weight}
        self.vocab = index.bm25.vocab_dict

    def dense(self, text: str, n: int = CANDIDATES) -> list[tuple[int, float]]:
        vector = self.embedder.queries([text])
        scores, rows = self.index.faiss_index.search(vector, min(n, self.index.faiss_index.ntotal))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def keyword(self, tokens: list[str], n: int = CANDIDATES) -> list[tuple[int, float]]:
        known = [t for t in tokens if t in self.vocab]
        if not known:
            return []
        scores = self.index.bm25.get_scores(known)
        if len(scores) > n:  # partial selection: a full sort of a million scores costs more than the scoring
            candidates = np.argpartition(-scores, n)[:n]
            top = candidates[np.argsort(-scores[candidates])]
        else:
            top = np.argsort(-scores)
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def __call__(self, query: Query | str, k: int = 10, mode: str = "hybrid") -> list[Hit]:
        if mode not in self.MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(self.MODES)}")
        if isinstance(query, str):
            query = Query(query, self.tokenizer(query))
        hits: dict[int, Hit] = {}

        def hit(row: int) -> Hit:
            return hits.setdefault(row, Hit(self.index.chunks[row], 0.0, row=row))

        if mode in ("hybrid", "dense"):
            for rank, (row, score) in enumerate(self.dense(query.text)):
                h = hit(row)
                h.dense_rank, h.dense_score = rank + 1, score
                h.score += self.weights["dense"] / (RRF_K + rank + 1)
        if mode in ("hybrid", "bm25"):
            for rank, (row, score) in enumerate(self.keyword(query.keywords)):
                h = hit(row)
                h.bm25_rank, h.bm25_score = rank + 1, score
                h.score += self.weights["bm25"] / (RRF_K + rank + 1)
        return sorted(hits.values(), key=lambda h: -h.score)[:k]
