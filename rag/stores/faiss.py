"""The embedded store (default): FAISS over the vectors and bm25s over jieba tokens, as files in the version folder.

Everything is searched inside this process, so nothing runs beside the product. Exact
(``IndexFlatIP``) up to the ANN threshold, HNSW above it.
"""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import faiss
import numpy as np

from ..chunking import Chunk
from . import Contents


def faiss_index(vectors: np.ndarray, approximate: bool) -> faiss.Index:
    dim = vectors.shape[1]
    if approximate:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


class Bm25Keywords:
    """Callable: ``keywords(tokens, n)`` → the top ``n`` (row, BM25 score) with a positive score."""

    def __init__(self, bm25: bm25s.BM25) -> None:
        self.bm25 = bm25
        self.vocab = bm25.vocab_dict

    def __call__(self, tokens: list[str], n: int) -> list[tuple[int, float]]:
        known = [t for t in tokens if t in self.vocab]
        if not known:
            return []
        scores = self.bm25.get_scores(known)
        if len(scores) > n:  # partial selection: a full sort of a million scores costs more than the scoring
            candidates = np.argpartition(-scores, n)[:n]
            top = candidates[np.argsort(-scores[candidates])]
        else:
            top = np.argsort(-scores)
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]


class FaissStore:
    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, index: faiss.Index, bm25: bm25s.BM25) -> None:
        self._chunks = chunks
        self._vectors = vectors
        self.faiss_index = index
        self.bm25 = bm25
        self.keyword = Bm25Keywords(bm25)
        self.count = index.ntotal if len(vectors) == index.ntotal else -1

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        scores, rows = self.faiss_index.search(vector.reshape(1, -1), min(n, self.faiss_index.ntotal))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def vectors(self, rows: list[int] | None = None) -> np.ndarray:
        return self._vectors if rows is None else self._vectors[rows]

    def chunks(self) -> list[Chunk]:
        return self._chunks

    def close(self) -> None:
        pass


def check(index_dir: Path, settings) -> None:
    """Nothing outside the index folder to reach."""


def write(folder: Path, version: str, contents: Contents, settings) -> dict:
    """Write the version's search files into ``folder``; returns what the manifest records about them."""
    with (folder / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in contents.chunks:
            handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    np.save(folder / "vectors.npy", contents.vectors)
    faiss.write_index(faiss_index(contents.vectors, contents.approximate), str(folder / "faiss.index"))
    contents.bm25.save(str(folder / "bm25"), show_progress=False)
    return {"faiss": "hnsw" if contents.approximate else "flat"}


def open(folder: Path, manifest: dict, settings) -> FaissStore:  # noqa: A001  (the backend's verb, as in `stores.backend(name).open`)
    with (folder / "chunks.jsonl").open(encoding="utf-8") as handle:
        chunks = [Chunk.from_dict(json.loads(line)) for line in handle]
    vectors = np.load(folder / "vectors.npy")
    index = faiss.read_index(str(folder / "faiss.index"))
    bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    return FaissStore(chunks, vectors, index, bm25)
