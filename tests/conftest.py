"""Shared fixtures: one real index over the corpus per session, a real engine, a real server on loopback.

The model is the real rebuilt e5 (built once into RAG_HOME, the user cache by default), FAISS and
jieba are real, and the server is uvicorn on a free 127.0.0.1 port.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("RAG_THREADS", "1")  # torch with 2 threads collapses when tests run beside it

from rag.config import Settings  # noqa: E402
from rag.serving import LiveServer  # noqa: E402,F401  (the tests' real server on loopback)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def embedder():
    from rag.embedding import Embedder

    return Embedder(Settings(threads=1), progress=False)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory, embedder) -> Path:
    from rag.index import build_index

    folder = tmp_path_factory.mktemp("index")
    build_index(CORPUS, folder, embedder, progress=False)
    return folder


def milvus_copy(faiss_dir: Path, folder: Path, embedder) -> Path:
    """A Milvus-backed index of the seed corpus in ``folder`` (its own Lite file): built over a copy of a
    FAISS index, so every vector is reused (nothing re-embedded) and the build is the real one."""
    from rag.index import build_index

    shutil.copytree(faiss_dir, folder)
    build_index(CORPUS, folder, embedder, progress=False, store="milvus").close()
    return folder


def release_lite(folder: Path) -> None:
    """Stop this process's Milvus Lite server on ``folder``'s file (a test's private index is done with)."""
    from rag.stores.milvus import LITE_FILE, release

    release(str(Path(folder).resolve() / LITE_FILE))


@pytest.fixture(scope="session")
def milvus_index_dir(tmp_path_factory, index_dir, embedder) -> Path:
    pytest.importorskip("pymilvus", reason="the Milvus store needs the milvus extra: pip install -e '.[milvus]'")
    folder = milvus_copy(index_dir, tmp_path_factory.mktemp("milvus") / "index", embedder)
    yield folder
    release_lite(folder)


@pytest.fixture(scope="session")
def milvus_engine(settings, milvus_index_dir, embedder, reader):
    from rag.engine import Engine

    return Engine(settings.model_copy(update={"index_dir": milvus_index_dir}), embedder, reader)


@pytest.fixture(scope="session")
def milvus_server(settings, milvus_engine):
    from web.app import create_app

    with LiveServer(create_app(milvus_engine.settings, milvus_engine)) as live:
        yield live


@pytest.fixture(scope="session")
def settings(index_dir, tmp_path_factory) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=CORPUS, threads=1, kb_dir=tmp_path_factory.mktemp("kbs"))


@pytest.fixture(scope="session")
def reader():
    from rag.reader.build import ensure_reader
    from rag.reader.reader import Reader

    return Reader(ensure_reader(Settings().home), threads=1)


@pytest.fixture(scope="session")
def engine(settings, embedder, reader):
    from rag.engine import Engine

    return Engine(settings, embedder, reader)


@pytest.fixture(scope="session")
def server(settings, engine):
    from web.app import create_app

    with LiveServer(create_app(settings, engine)) as live:
        yield live


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def library(tmp_path_factory, settings, index_dir, embedder, reader):
    """A server whose default base is a copy of the seed corpus (uploads must not touch corpus/)."""
    from rag.engine import Engine
    from web.app import create_app

    root = tmp_path_factory.mktemp("library")
    shutil.copytree(CORPUS, root / "corpus")
    shutil.copytree(index_dir, root / "index")
    own = settings.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index",
                                      "kb_dir": root / "kbs", "max_upload_mb": 2})
    with LiveServer(create_app(own, Engine(own, embedder, reader))) as live:
        yield live
