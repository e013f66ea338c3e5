"""Hybrid retrieval: dense and keyword (BM25) candidates fused by their scores, whatever store holds them.

Dense search carries paraphrases and other languages; BM25 carries exact numbers and names.
Fusion is a convex combination of min-max normalised scores over the union of both candidate
lists, with each candidate's dense score computed exactly from its stored vector. Reciprocal-rank
fusion, tried first, buried BM25's clear first place whenever the dense model missed the passage
(its rank 51 counted as nothing); on the gold set the score fusion puts every answering passage in
the top 10 (RRF: 0.976). Each hit says which retriever found it and at what rank. The store
(``rag/stores/``) supplies the candidate lists and stored vectors; the fusion is only here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .chunking import Chunk
from .index import Index
from .tokenizing import Tokenizer, default_tokenizer

CANDIDATES = 50
KEYWORD_LIMIT = 16384  # BM25 rows ranked when a subset is searched (Milvus answers at most this many)
DENSE_WEIGHT = 0.4  # BM25 gets the rest; swept 0.3–0.6 on the gold set (see eval/README.md)


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score in [0, 1] (higher is better)
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

    def __init__(self, index: Index, embedder, tokenizer: Tokenizer | None = None, dense_weight: float = DENSE_WEIGHT) -> None:
        self.index = index
        self.embedder = embedder
        self.tokenizer = tokenizer or default_tokenizer()
        self.dense_weight = dense_weight
        self.store = index.store

    def dense(self, text: str | np.ndarray, n: int = CANDIDATES) -> list[tuple[int, float]]:
        vector = self.embedder.queries([text])[0] if isinstance(text, str) else text
        return self.store.dense(vector, n)

    def keyword(self, tokens: list[str], n: int = CANDIDATES) -> list[tuple[int, float]]:
        return self.store.keyword(tokens, n)

    def __call__(self, query: Query | str, k: int = 10, mode: str = "hybrid", within: set[int] | None = None) -> list[Hit]:
        """``within``: the only rows that may be returned (a caller's filter, the documents a question names)."""
        if mode not in self.MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(self.MODES)}")
        if isinstance(query, str):
            query = Query(query, self.tokenizer(query))
        vector = self.embedder.queries([query.text])[0] if mode != "bm25" else None
        if within is not None:
            return self._within(query, vector, k, mode, within)
        dense = self.dense(vector) if vector is not None else []
        keyword = self.keyword(query.keywords) if mode != "dense" else []
        return self._fused(dense, keyword, vector, k, mode)

    def _within(self, query: Query, vector, k: int, mode: str, within: set[int]) -> list[Hit]:
        """Search a subset: every row of it is scored densely (exact), BM25's list is cut to it."""
        rows = sorted(within)
        if not rows:
            return []
        dense = []
        if vector is not None:
            scores = self.store.vectors(rows) @ vector
            dense = sorted(zip(rows, map(float, scores)), key=lambda rs: -rs[1])[:CANDIDATES]
        keyword = []
        if mode != "dense":
            keyword = [(row, score) for row, score in self.keyword(query.keywords, min(self.store.count, KEYWORD_LIMIT)) if row in within][:CANDIDATES]
        return self._fused(dense, keyword, vector, k, mode)

    def _fused(self, dense: list[tuple[int, float]], keyword: list[tuple[int, float]], vector, k: int, mode: str) -> list[Hit]:
        rows = list(dict.fromkeys([row for row, _ in dense] + [row for row, _ in keyword]))
        if not rows:
            return []
        dense_rank = {row: rank for rank, (row, _) in enumerate(dense, start=1)}
        bm25_rank = {row: rank for rank, (row, _) in enumerate(keyword, start=1)}
        bm25_scores = dict(keyword)
        # Exact dense scores for BM25's candidates too: a passage the ANN list missed still has one.
        dense_scores = self.store.vectors(rows) @ vector if vector is not None else np.zeros(len(rows))
        keyword_scores = np.array([bm25_scores.get(row, 0.0) for row in rows])
        weight = {"hybrid": self.dense_weight, "dense": 1.0, "bm25": 0.0}[mode]
        fused = weight * _min_max(dense_scores) + (1 - weight) * _min_max(keyword_scores)
        hits = [
            Hit(self.index.chunks[row], float(fused[i]), dense_rank.get(row), bm25_rank.get(row),
                float(dense_scores[i]), bm25_scores.get(row, 0.0), row=row)
            for i, row in enumerate(rows)
        ]
        return sorted(hits, key=lambda h: -h.score)[:k]


def _min_max(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] within this query's candidates (all equal → all 0: they tell nothing apart)."""
    scores = scores.astype(np.float64)
    low, high = scores.min(), scores.max()
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)
