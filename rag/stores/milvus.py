"""The Milvus store: one collection per index version, on Milvus Lite or a Milvus server/cluster.

``RAG_MILVUS_URI`` picks where: a ``*.db`` path is Milvus Lite, started inside this process (the
default is ``milvus.db`` in the index folder), and ``http://host:19530`` is a server or cluster; the
client code is the same. A row holds the dense vector, the BM25 weights as a sparse vector and the
chunk (doc id, paragraph, date and content hash as fields, the whole chunk as JSON).

BM25 is computed here, not by Milvus's own BM25 function: the sparse vector of a paragraph is its
row of bm25s's precomputed weight matrix (the same k1, b and idf the FAISS store searches), and a
query is its jieba tokens as ids with weight 1, so the inner product *is* bm25s's score. That keeps
our tokenization (user dictionary, one-character tokens, the English expansion keywords) and the
keyword scores identical across stores; Milvus's analyzer would tokenize Chinese its own way.
Only what both Lite and a cluster accept is used: AUTOINDEX for the dense field, SPARSE_INVERTED_INDEX
with inner product for the sparse one, no aliases (Lite lacks them; ``CURRENT`` still switches).

A Lite file belongs to one process: a second process cannot open it while the first holds it.
Lite is for correctness and small bases, not speed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import threading
from pathlib import Path

import numpy as np

from ..chunking import Chunk
from . import Contents, StoreUnavailable

LITE_FILE = "milvus.db"
COLLECTION_FILE = "collection.json"  # written before the collection exists, so an abandoned build can drop it
VOCAB_FILE = "vocab.json"
INSERT_BATCH = 500
FETCH_BATCH = 1000
CONNECT_TIMEOUT_S = 10
# Lite starts a server process of its own first: on a busy 2-core machine (Ray workers loading the
# model beside it) that took over 10 s once in CI, so a local file waits longer than a remote server.
LITE_START_TIMEOUT_S = 60

_lock = threading.Lock()
_clients: dict[str, list] = {}  # uri → [client, users, guard]: one connection (and one Lite server) per URI per process


def uri_of(index_dir: Path, settings) -> str:
    return settings.milvus_uri or str(Path(index_dir).resolve() / LITE_FILE)


def connect(uri: str, token: str | None = None):
    """The process's client for ``uri`` (one more user of it); a clear StoreUnavailable when it cannot be had."""
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:
        raise StoreUnavailable("the Milvus store needs pymilvus and milvus-lite: pip install 'rag-zh[milvus]'") from None
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    with _lock:
        if uri not in _clients:
            guard = _guard(uri) if uri.endswith(".db") else None
            try:
                # Lite answers pymilvus's idle keep-alive pings (every 10 s) with GOAWAY "too_many_pings", logged each time.
                quiet = {"grpc_options": {"grpc.keepalive_permit_without_calls": False}} if guard is not None else {}
                client = MilvusClient(uri=uri, token=token or "", timeout=LITE_START_TIMEOUT_S if guard is not None else CONNECT_TIMEOUT_S, **quiet)
            except MilvusException as exc:
                if guard is not None:
                    guard.close()
                raise StoreUnavailable(_explain(uri, exc)) from None
            _clients[uri] = [client, 0, guard]
        _clients[uri][1] += 1
        return _clients[uri][0]


def _guard(uri: str):
    """Our own lock beside a Lite file, taken before Lite is asked to start.

    milvus-lite 2.5 refuses a second process, but the refused process then deletes the holder's
    lock file on its way out, so a third process would open the same file; this lock is never deleted.
    """
    path = Path(uri)
    if not path.parent.is_dir():
        raise StoreUnavailable(f"cannot open Milvus Lite at {uri}: its folder does not exist")
    handle = (path.parent / f".{path.name}.rag-lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreUnavailable(_held(uri)) from None
    return handle


def _held(uri: str) -> str:
    return (f"the Milvus Lite file {uri} is open in another process: a Lite index belongs to one process "
            "(stop the other one, e.g. `rag serve`, or set RAG_MILVUS_URI to a Milvus server)")


def disconnect(uri: str) -> None:
    """One user fewer; the last one closes the client, which for Lite stops its server and frees the file."""
    with _lock:
        entry = _clients.get(uri)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _clients[uri]
    entry[0].close()
    if uri.endswith(".db"):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)
        entry[2].close()  # after Lite has stopped: the next process may open the file


def release(uri: str) -> None:
    """Close the process's client for ``uri`` whoever still uses it: hand a Lite file to another process."""
    with _lock:
        if uri in _clients:
            _clients[uri][1] = 1
    disconnect(uri)


def _explain(uri: str, exc) -> str:
    message = getattr(exc, "message", str(exc))
    if uri.endswith(".db") and "Open local milvus failed" in message:
        return _held(uri)  # a process outside this product holds it
    return f"cannot reach Milvus at {uri} ({message}): check RAG_MILVUS_URI (and RAG_MILVUS_TOKEN)"


def collection_name(version: str) -> str:
    return "rag_" + version.replace("-", "_")


def check(index_dir: Path, settings) -> None:
    """Reach the store before a build embeds anything (an unreachable server fails at once)."""
    uri = uri_of(index_dir, settings)
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    connect(uri, settings.milvus_token)
    disconnect(uri)


def _schema(client, dimension: int):
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=1024)
    schema.add_field("paragraph", DataType.INT64)
    schema.add_field("date", DataType.VARCHAR, max_length=64)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=64)
    schema.add_field("chunk", DataType.VARCHAR, max_length=65535)
    indexes = client.prepare_index_params()
    indexes.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    indexes.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    return schema, indexes


def _sparse_rows(bm25):
    """Per-paragraph BM25 weights from bm25s's token-major (CSC) weight matrix, as {token id: weight}."""
    from scipy.sparse import csc_matrix

    weights = bm25.scores
    matrix = csc_matrix((weights["data"], weights["indices"], weights["indptr"]),
                        shape=(weights["num_docs"], len(weights["indptr"]) - 1)).tocsr()
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        yield {int(t): float(w) for t, w in zip(matrix.indices[start:end], matrix.data[start:end])}


def write(folder: Path, version: str, contents: Contents, settings) -> dict:
    """Create this version's collection and fill it; ``folder`` gets the vocabulary and the collection's name."""
    uri, name = uri_of(folder.parent, settings), collection_name(version)
    (folder / COLLECTION_FILE).write_text(json.dumps({"collection": name}), encoding="utf-8")
    (folder / VOCAB_FILE).write_text(json.dumps(contents.bm25.vocab_dict, ensure_ascii=False), encoding="utf-8")
    client = connect(uri, settings.milvus_token)
    try:
        schema, indexes = _schema(client, contents.vectors.shape[1])
        client.create_collection(name, schema=schema, index_params=indexes, consistency_level="Strong")
        rows = zip(contents.chunks, contents.vectors, _sparse_rows(contents.bm25))
        batch = []
        for row, (chunk, vector, sparse) in enumerate(rows):
            batch.append({"row": row, "vector": vector.tolist(), "bm25": sparse, "doc_id": chunk.doc_id,
                          "paragraph": chunk.paragraph, "date": chunk.date, "content_hash": chunk.content_hash,
                          "chunk": json.dumps(chunk.to_dict(), ensure_ascii=False)})
            if len(batch) == INSERT_BATCH:
                client.insert(name, batch)
                batch = []
        if batch:
            client.insert(name, batch)
        client.flush(name)
    except Exception as exc:
        raise StoreUnavailable(f"writing collection {name} to Milvus at {uri} failed: {exc}") from exc
    finally:
        disconnect(uri)
    return {"collection": name}


class MilvusStore:
    def __init__(self, uri: str, name: str, vocab: dict[str, int], token: str | None = None) -> None:
        from pymilvus.exceptions import MilvusException

        self.uri, self.name, self.vocab = uri, name, vocab
        self.client = connect(uri, token)
        try:
            if not self.client.has_collection(name):
                self.close()
                raise ValueError(f"collection {name} is missing from Milvus at {uri}")
            self.client.load_collection(name)
            self._chunks = self._fetch_chunks()
        except MilvusException as exc:
            self.close()
            raise StoreUnavailable(f"Milvus at {uri} did not serve collection {name}: {exc.message}") from None
        self.count = len(self._chunks)

    def _fetch_chunks(self) -> list[Chunk]:
        rows: dict[int, Chunk] = {}
        iterator = self.client.query_iterator(self.name, batch_size=FETCH_BATCH, filter="", output_fields=["row", "chunk"])
        try:
            while batch := iterator.next():
                rows.update((r["row"], Chunk.from_dict(json.loads(r["chunk"]))) for r in batch)
        finally:
            iterator.close()
        if sorted(rows) != list(range(len(rows))):
            return []  # rows missing: the index reports itself inconsistent
        return [rows[i] for i in range(len(rows))]

    def dense(self, vector: np.ndarray, n: int) -> list[tuple[int, float]]:
        found = self.client.search(self.name, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="vector",
                                   limit=min(n, self.count), search_params={"metric_type": "IP"})
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    def keyword(self, tokens: list[str], n: int) -> list[tuple[int, float]]:
        query: dict[int, float] = {}
        for token in tokens:  # a repeated token counts again, as in bm25s
            if token in self.vocab:
                query[self.vocab[token]] = query.get(self.vocab[token], 0.0) + 1.0
        if not query:
            return []
        found = self.client.search(self.name, data=[query], anns_field="bm25", limit=min(n, self.count),
                                   search_params={"metric_type": "IP"})
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0] if hit["distance"] > 0]

    def vectors(self, rows: list[int] | None = None) -> np.ndarray:
        rows = list(range(self.count)) if rows is None else [int(r) for r in rows]
        found: dict[int, list[float]] = {}
        for start in range(0, len(rows), FETCH_BATCH):
            for record in self.client.get(self.name, ids=rows[start:start + FETCH_BATCH], output_fields=["vector"]):
                found[record["row"]] = record["vector"]
        return np.array([found[r] for r in rows], dtype=np.float32).reshape(len(rows), -1)

    def chunks(self) -> list[Chunk]:
        return self._chunks

    def close(self) -> None:
        if self.client is not None:
            self.client = None
            disconnect(self.uri)


def open(folder: Path, manifest: dict, settings) -> MilvusStore:  # noqa: A001  (the backend's verb)
    vocab = json.loads((folder / VOCAB_FILE).read_text(encoding="utf-8"))
    return MilvusStore(uri_of(folder.parent, settings), manifest["collection"], vocab, settings.milvus_token)


def drop(folder: Path, settings) -> None:
    """Drop the collection a version folder (or an abandoned build's) names; a folder with none is left alone."""
    marker = folder / COLLECTION_FILE
    if not marker.is_file():
        return
    name = json.loads(marker.read_text(encoding="utf-8"))["collection"]
    uri = uri_of(folder.parent, settings)
    client = connect(uri, settings.milvus_token)
    try:
        client.drop_collection(name)
    finally:
        disconnect(uri)
