"""Shared fixtures: one real index over the corpus per session, a real engine, a real server on loopback.

The model is the real rebuilt e5 (built once into RAG_HOME, the user cache by default), FAISS and
jieba are real, and the server is uvicorn on a free 127.0.0.1 port.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("RAG_THREADS", "1")  # torch with 2 threads collapses when tests run beside it

from rag.config import Settings  # noqa: E402

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


@pytest.fixture(scope="session")
def settings(index_dir) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=CORPUS, threads=1)


@pytest.fixture(scope="session")
def engine(settings, embedder):
    from rag.engine import Engine

    return Engine(settings, embedder)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread on 127.0.0.1."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(settings, engine):
    from web.app import create_app

    with LiveServer(create_app(settings, engine)) as live:
        yield live


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
