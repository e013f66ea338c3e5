"""The saved index: chunk store + FAISS vectors + BM25 over jieba tokens, in a versioned folder.

Layout of ``index/``::

    CURRENT              name of the version being served (replaced atomically)
    v-<time>-<id>/       manifest.json, chunks.jsonl, vectors.npy, faiss.index, bm25/

A build writes a new version folder beside the old one and only then switches ``CURRENT``,
so a crash mid-build leaves the previous index serving. Vectors of unchanged paragraphs are
reused from the current version (keyed by content hash), so adding one article re-embeds
only its paragraphs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import bm25s
import faiss
import numpy as np
from tqdm import tqdm

from .chunking import Chunk, Chunker, chunk_documents
from .documents import Document, load_corpus
from .tokenizing import Tokenizer, default_tokenizer

FORMAT_VERSION = 1
CURRENT = "CURRENT"
KEEP_VERSIONS = 2
EMBED_BATCH = 128  # paragraphs per embedding call: progress is reported between calls


class IndexUnavailable(Exception):
    """The index is missing, corrupted or was built with another model."""




def corpus_fingerprint(documents: list[Document]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.fingerprint}\n".encode())
    return digest.hexdigest()[:16]


def _faiss_index(vectors: np.ndarray, approximate: bool) -> faiss.Index:
    dim = vectors.shape[1]
    if approximate:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


@dataclass
class Index:
    """A loaded index version. Build with :func:`build_index`, open with :meth:`Index.load`."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: faiss.Index
    bm25: bm25s.BM25
    documents: dict[str, dict] = field(default_factory=dict)
    document_frequency: dict[str, int] = field(default_factory=dict)

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every indexed token (BM25's smoothed form)."""
        n = len(self.chunks)
        return {word: math.log(1 + (n - df + 0.5) / (df + 0.5)) for word, df in self.document_frequency.items()}

    @property
    def version(self) -> str:
        return self.path.name

    @classmethod
    def load(cls, index_dir: Path) -> "Index":
        index_dir = Path(index_dir)
        pointer = index_dir / CURRENT
        if not pointer.is_file():
            raise IndexUnavailable(f"no index in {index_dir}: run `rag index` first")
        path = index_dir / pointer.read_text(encoding="utf-8").strip()
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {manifest.get('format')} (expected {FORMAT_VERSION})")
            with (path / "chunks.jsonl").open(encoding="utf-8") as handle:
                chunks = [Chunk.from_dict(json.loads(line)) for line in handle]
            vectors = np.load(path / "vectors.npy")
            faiss_index = faiss.read_index(str(path / "faiss.index"))
            bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
            documents = json.loads((path / "documents.json").read_text(encoding="utf-8"))
            document_frequency = json.loads((path / "df.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexUnavailable(f"index at {path} is unreadable ({exc.__class__.__name__}: {exc}): run `rag index` to rebuild it") from exc
        if not (len(chunks) == manifest.get("chunks") == vectors.shape[0] == faiss_index.ntotal):
            raise IndexUnavailable(f"index at {path} is inconsistent (chunk and vector counts differ): run `rag index` to rebuild it")
        return cls(path, manifest, chunks, vectors, faiss_index, bm25, documents, document_frequency)

    @staticmethod
    def current_version(index_dir: Path) -> str | None:
        pointer = Path(index_dir) / CURRENT
        try:
            return pointer.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


def _previous_vectors(index_dir: Path, model_name: str) -> dict[str, np.ndarray]:
    """Vectors of the serving version, keyed by content hash, when it was built with the same model."""
    try:
        previous = Index.load(index_dir)
    except IndexUnavailable:
        return {}
    if previous.manifest.get("model") != model_name:
        return {}
    return {chunk.content_hash: previous.vectors[i] for i, chunk in enumerate(previous.chunks)}


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder,
    *,
    ann_threshold: int = 200_000,
    tokenizer: Tokenizer | None = None,
    progress: bool = True,
    on_stage=None,
    on_embedded=None,
) -> Index:
    """Build a new index version from ``corpus_dir`` and make it current. Returns the loaded index.

    ``on_stage(message)`` hears each step; ``on_embedded(done, total)`` hears embedding progress.
    """
    say = on_stage or (lambda message: None)
    started = time.perf_counter()
    index_dir = Path(index_dir)
    documents, skipped = load_corpus(Path(corpus_dir))
    for message in skipped:
        say(message)
    tokenizer = tokenizer or default_tokenizer()
    chunks = chunk_documents(documents, Chunker(tokenizer))
    say(f"{len(documents)} articles, {len(chunks)} paragraphs")

    # Step 1: embed only what the serving version has not embedded already.
    cached = _previous_vectors(index_dir, embedder.name)
    missing = [i for i, chunk in enumerate(chunks) if chunk.content_hash not in cached]
    missing.sort(key=lambda i: len(chunks[i].retrieval_text()))  # batches of like length pad less
    vectors = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    for i, chunk in enumerate(chunks):
        if chunk.content_hash in cached:
            vectors[i] = cached[chunk.content_hash]
    with tqdm(total=len(missing), desc="embedding", unit="paragraph", disable=not progress or not missing) as bar:
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start:start + EMBED_BATCH]
            vectors[batch] = embedder.passages([chunks[i].retrieval_text() for i in batch])
            bar.update(len(batch))
            if on_embedded:
                on_embedded(start + len(batch), len(missing))
    say(f"embedded {len(missing)} paragraphs, reused {len(chunks) - len(missing)}")

    # Step 2: keyword index over jieba tokens (one-character tokens kept).
    tokens = [tokenizer(chunk.retrieval_text()) or [""] for chunk in chunks]
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(tokens, show_progress=progress)
    document_frequency = Counter(word for words in tokens for word in set(words))

    # Step 3: write everything into a fresh folder, then switch CURRENT to it.
    approximate = len(chunks) > ann_threshold
    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    version = f"v-{stamp}-{uuid.uuid4().hex[:6]}"
    staging = index_dir / f".building-{version}"
    staging.mkdir()
    try:
        manifest = {
            "format": FORMAT_VERSION,
            "model": embedder.name,
            "dimension": embedder.dimension,
            "documents": len(documents),
            "chunks": len(chunks),
            "corpus_fingerprint": corpus_fingerprint(documents),
            "faiss": "hnsw" if approximate else "flat",
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedded": len(missing),
            "reused": len(chunks) - len(missing),
            "skipped": skipped,
        }
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
        docs = {d.doc_id: {"title": d.title, "date": d.date, "source": d.source, "text": d.text} for d in documents}
        (staging / "documents.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        (staging / "df.json").write_text(json.dumps(document_frequency, ensure_ascii=False), encoding="utf-8")
        np.save(staging / "vectors.npy", vectors)
        faiss.write_index(_faiss_index(vectors, approximate), str(staging / "faiss.index"))
        bm25.save(str(staging / "bm25"), show_progress=False)
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_tree(staging)
        final = index_dir / version
        os.replace(staging, final)
        _switch_current(index_dir, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(index_dir, keep=version)
    return Index.load(index_dir)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _switch_current(index_dir: Path, version: str) -> None:
    tmp = index_dir / f".{CURRENT}.{uuid.uuid4().hex[:6]}"
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(version + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / CURRENT)
    dir_fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _prune(index_dir: Path, keep: str) -> None:
    """Keep the newest versions (a server may still be reading the previous one); drop stale staging folders."""
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.name)
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stale in index_dir.glob(".building-*"):
        try:
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass
