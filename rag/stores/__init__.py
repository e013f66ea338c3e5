"""Where one index version's vectors and keyword weights live, behind one small interface.

``rag/index.py`` owns versions, manifests and the atomic switch; a store owns what a version holds
for search and answers four questions: dense candidates, keyword candidates, the stored vectors of
given rows (so fusion gets exact dense scores), and the chunks. ``rag/search.py`` fuses the lists,
so the answer step never knows which store served it. Backends are picked by name:

* ``faiss`` (the default): FAISS + bm25s files inside the version folder, searched in-process.
* ``milvus``: one Milvus collection per version, on Milvus Lite (a file in the index folder) or a
  Milvus server or cluster (``RAG_MILVUS_URI``), through the same client code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..chunking import Chunk

STORES = ("faiss", "milvus")


class StoreUnavailable(Exception):
    """The store cannot be opened or written (unreachable server, a Lite file held by another process)."""


class Store(Protocol):
    count: int  # rows searchable (-1 when the store's parts disagree)

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]: ...

    def keyword(self, tokens: list[str], n: int) -> list[tuple[int, float]]: ...

    def vectors(self, rows: list[int] | None = None) -> np.ndarray: ...

    def chunks(self) -> list[Chunk]: ...

    def close(self) -> None: ...


@dataclass
class Contents:
    """What a build hands a store: row i is chunk i, vector i and document i of the bm25s index."""

    chunks: list[Chunk]
    vectors: np.ndarray
    bm25: object  # bm25s.BM25: its precomputed per-document term weights are the keyword index on every store
    approximate: bool  # above the ANN threshold: a store that can choose builds an approximate index


def backend(name: str):
    """The module implementing store ``name`` (``check``, ``write``, ``open``)."""
    if name == "faiss":
        from . import faiss

        return faiss
    if name == "milvus":
        from . import milvus

        return milvus
    raise ValueError(f"unknown store {name!r}; choose one of {', '.join(STORES)}")


def open_store(folder: Path, manifest: dict, settings) -> Store:
    """Open the store a version was built into (its manifest names it; versions before stores were FAISS)."""
    return backend(manifest.get("store", "faiss")).open(folder, manifest, settings)


def drop(folder: Path, settings) -> None:
    """Free what a version (or an abandoned build) holds outside its folder, before the folder is removed."""
    from . import milvus

    milvus.drop(folder, settings)
