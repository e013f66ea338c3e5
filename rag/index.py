"""The saved index: chunks + dense vectors + BM25 over jieba tokens, in a versioned folder.

Layout of ``index/``::

    CURRENT              name of the version being served (replaced atomically)
    v-<time>-<id>/       manifest.json, documents.json, df.json, user_words.tsv (the corpus's own names,
                         jieba's user words: made at build, loaded with the index), and the store's part:
                         faiss: chunks.jsonl, vectors.npy, faiss.index, bm25/
                         milvus: collection.json, vocab.json (the rows live in a Milvus collection)

A build writes a new version folder beside the old one and only then switches ``CURRENT``,
so a crash mid-build leaves the previous index serving. Vectors of unchanged paragraphs are
reused from the current version (keyed by content hash), so adding one article re-embeds
only its paragraphs. Where a version's vectors live is its store (``rag/stores/``, picked by
``RAG_STORE``); versions, manifests and the switch are the same for every store.
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
import numpy as np
from tqdm import tqdm

from . import stores
from .chunking import Chunk, Chunker
from .documents import CorpusError, Document, load_corpus
from .stores import Contents, Store, StoreUnavailable
from .stores.faiss import faiss_index as _faiss_index  # noqa: F401  (rag.bench builds FAISS as the product does)
from .tokenizing import Tokenizer, corpus_words, tokenizer_for

FORMAT_VERSION = 1
CURRENT = "CURRENT"
KEEP_VERSIONS = 2
EMBED_BATCH = 128  # paragraphs per embedding call: progress is reported between calls
USER_WORDS = "user_words.tsv"  # word<TAB>part-of-speech tag, one a line


class IndexUnavailable(Exception):
    """The index is missing, corrupted, was built with another model, or its store cannot be reached."""


class NoParagraphs(CorpusError):
    """Every readable file yielded no paragraph (a text holding only a heading line): nothing to index."""


def corpus_fingerprint(documents: list[Document]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.fingerprint}\n".encode())
    return digest.hexdigest()[:16]


@dataclass
class Index:
    """A loaded index version. Build with :func:`build_index`, open with :meth:`Index.load`."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    store: Store
    documents: dict[str, dict] = field(default_factory=dict)
    document_frequency: dict[str, int] = field(default_factory=dict)
    user_words: tuple[tuple[str, str], ...] = ()

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer this version's keyword index was built with (jieba and the corpus's own names)."""
        return tokenizer_for(self.user_words)

    def idf(self) -> dict[str, float]:
        """Inverse document frequency of every indexed token (BM25's smoothed form)."""
        n = len(self.chunks)
        return {word: math.log(1 + (n - df + 0.5) / (df + 0.5)) for word, df in self.document_frequency.items()}

    @property
    def version(self) -> str:
        return self.path.name

    def close(self) -> None:
        """Let go of the store (a Milvus Lite file is free for another process once every index on it is closed)."""
        self.store.close()

    @classmethod
    def load(cls, index_dir: Path, settings=None) -> "Index":
        """The version ``CURRENT`` names; ``settings`` (default: the environment's) say where a Milvus store is."""
        from .config import get_settings

        settings = settings or get_settings()
        index_dir = Path(index_dir)
        pointer = index_dir / CURRENT
        if not pointer.is_file():
            raise IndexUnavailable(f"no index in {index_dir}: run `rag index` first")
        path = index_dir / pointer.read_text(encoding="utf-8").strip()
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT_VERSION:
                raise ValueError(f"format {manifest.get('format')} (expected {FORMAT_VERSION})")
            documents = json.loads((path / "documents.json").read_text(encoding="utf-8"))
            document_frequency = json.loads((path / "df.json").read_text(encoding="utf-8"))
            user_words = _read_words(path / USER_WORDS)
            store = stores.open_store(path, manifest, settings)
            chunks = store.chunks()
        except StoreUnavailable as exc:
            raise IndexUnavailable(str(exc)) from exc
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexUnavailable(f"index at {path} is unreadable ({exc.__class__.__name__}: {exc}): run `rag index` to rebuild it") from exc
        if not (len(chunks) == manifest.get("chunks") == store.count):
            store.close()
            raise IndexUnavailable(f"index at {path} is inconsistent (chunk and vector counts differ): run `rag index` to rebuild it")
        return cls(path, manifest, chunks, store, documents, document_frequency, user_words)

    @staticmethod
    def current_version(index_dir: Path) -> str | None:
        pointer = Path(index_dir) / CURRENT
        try:
            return pointer.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


def _read_words(path: Path) -> tuple[tuple[str, str], ...]:
    """An index's user words (none for a version built before they were made)."""
    if not path.is_file():
        return ()
    return tuple(tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line)


def _previous_vectors(previous: "Index | None", model_name: str) -> dict[str, np.ndarray]:
    """Vectors of the serving version (any store), keyed by content hash, when it was built with the same model."""
    if previous is None or previous.manifest.get("model") != model_name:
        return {}
    vectors = previous.store.vectors()
    return {chunk.content_hash: vectors[i] for i, chunk in enumerate(previous.chunks)}


def _serving(index_dir: Path, settings) -> "Index | None":
    try:
        return Index.load(index_dir, settings)
    except IndexUnavailable as exc:
        if isinstance(exc.__cause__, StoreUnavailable):
            raise exc.__cause__ from None  # the store is out of reach: say so now, not after embedding
        return None


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
    on_read=None,
    store: str | None = None,
    settings=None,
    documents: tuple[list[Document], list[str]] | None = None,
    max_paragraphs: int | None = None,
    on_refused=None,
) -> Index:
    """Build a new index version from ``corpus_dir`` and make it current. Returns the loaded index.

    ``on_stage(message)`` hears each step; ``on_embedded(done, total)`` hears embedding progress;
    ``on_read(message)`` hears what takes time while files are read here (each page OCR reads: "OCR page 3/20
    (scan.pdf)"); ``documents`` given (as an index job reads them, in a child process) are not read again.
    ``store`` picks where the version goes (default ``RAG_STORE``: faiss); ``embedder`` may be any
    object with ``name``, ``dimension`` and ``passages(texts)`` (a ``batch`` attribute sets how many
    texts go to one call: the Ray embedder takes large ones).
    """
    from .config import get_settings

    settings = settings or get_settings()
    store = store or settings.store
    backend = stores.backend(store)
    say = on_stage or (lambda message: None)
    started = time.perf_counter()
    index_dir = Path(index_dir)
    backend.check(index_dir, settings)  # an unreachable store fails the build before anything is embedded
    documents, skipped = documents if documents is not None else load_corpus(Path(corpus_dir), settings=settings, progress=on_read)
    skipped = list(skipped)
    for message in skipped:
        say(message)
    # The corpus's own recurring names become jieba user words, for this version's keyword index and questions.
    user_words = tokenizer.user_words if tokenizer else tuple(corpus_words(f"{doc.title}\n{doc.text}" for doc in documents))
    tokenizer = tokenizer or tokenizer_for(user_words)
    documents, chunks = _chunked(documents, Chunker(tokenizer), max_paragraphs, skipped, on_refused or (lambda d, m: None))
    say(f"{len(documents)} articles, {len(chunks)} paragraphs")

    # Step 1: embed only what the serving version has not embedded already.
    previous = _serving(index_dir, settings)  # open until the new version is: a Lite server is not restarted between
    cached = _previous_vectors(previous, embedder.name)
    missing = [i for i, chunk in enumerate(chunks) if chunk.content_hash not in cached]
    missing.sort(key=lambda i: len(chunks[i].retrieval_text()))  # batches of like length pad less
    vectors = np.zeros((len(chunks), embedder.dimension), dtype=np.float32)
    for i, chunk in enumerate(chunks):
        if chunk.content_hash in cached:
            vectors[i] = cached[chunk.content_hash]
    with tqdm(total=len(missing), desc="embedding", unit="paragraph", disable=not progress or not missing) as bar:
        step = getattr(embedder, "batch", EMBED_BATCH)
        for start in range(0, len(missing), step):
            batch = missing[start:start + step]
            vectors[batch] = embedder.passages([chunks[i].retrieval_text() for i in batch])
            bar.update(len(batch))
            if on_embedded:
                on_embedded(start + len(batch), len(missing))
    say(f"embedded {len(missing)} paragraphs, reused {len(chunks) - len(missing)}")

    # Step 2: keyword index over jieba tokens (one-character tokens kept); its weights serve every store.
    tokens = [tokenizer(chunk.retrieval_text()) or [""] for chunk in chunks]
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(tokens, show_progress=progress)
    document_frequency = Counter(word for words in tokens for word in set(words))

    # Step 3: write everything into a fresh folder (and the store), then switch CURRENT to it.
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
            "store": store,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "embedded": len(missing),
            "reused": len(chunks) - len(missing),
            "skipped": skipped,
        }
        manifest.update(backend.write(staging, version, Contents(chunks, vectors, bm25, approximate), settings))
        docs = {d.doc_id: {"title": d.title, "date": d.date, "source": d.source, "text": d.text} for d in documents}
        (staging / "documents.json").write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        (staging / "df.json").write_text(json.dumps(document_frequency, ensure_ascii=False), encoding="utf-8")
        (staging / USER_WORDS).write_text("".join(f"{word}\t{tag}\n" for word, tag in user_words), encoding="utf-8")
        manifest["user_words"] = len(user_words)
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        _fsync_tree(staging)
        final = index_dir / version
        os.replace(staging, final)
        _switch_current(index_dir, version)
    except BaseException:
        _remove(staging, settings)
        if previous is not None:
            previous.close()
        raise
    _prune(index_dir, keep=version, settings=settings)
    built = Index.load(index_dir, settings)
    if previous is not None:
        previous.close()
    return built


def _chunked(documents: list[Document], chunker: Chunker, limit: int | None, skipped: list[str], on_refused):
    """The documents that yield 1 to ``limit`` paragraphs, and their chunks; the others are skipped, said why."""
    kept, chunks = [], []
    for document in documents:
        own = chunker(document)
        name = document.source or Path(document.path).name or document.doc_id
        if not own:
            message = f"{name}: no paragraph to index (the text is only headings, e.g. one title line)"
        elif limit is not None and len(own) > limit:
            message = (f"{name}: {len(own)} paragraphs, more than the limit of {limit} per file "
                       "(RAG_MAX_DOCUMENT_PARAGRAPHS)")
        else:
            kept.append(document)
            chunks.extend(own)
            continue
        skipped.append(message)
        on_refused(document, message)
    if not chunks:
        raise NoParagraphs("nothing to index: " + ("; ".join(skipped)[:1000] if skipped else "no documents"))
    return kept, chunks


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


def _prune(index_dir: Path, keep: str, settings) -> None:
    """Keep the newest versions (a server may still be reading the previous one); drop stale staging folders."""
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.name)
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            _remove(old, settings)
    for stale in index_dir.glob(".building-*"):
        try:
            if time.time() - stale.stat().st_mtime > 3600:
                _remove(stale, settings)
        except OSError:
            pass


def _remove(folder: Path, settings) -> None:
    """Remove a version folder and what it holds in its store (a Milvus collection); never fails a build."""
    try:
        stores.drop(folder, settings)
    except (StoreUnavailable, OSError, ValueError):
        pass  # left for the next prune
    shutil.rmtree(folder, ignore_errors=True)
