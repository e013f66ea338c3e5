"""A real server on a free loopback port: an ASGI app with uvicorn in a background thread (the tests,
which share the loaded model with it), or ``rag serve`` in a child process (the benchmark, which
measures the server as a user runs it and so needs nothing from ``web``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, seconds: float) -> bool:
    """Poll ``url/health`` until it answers 200 (True) or ``seconds`` pass (False)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.1)
    return False


class LiveServer:
    """``with LiveServer(app) as live: httpx.get(live.url + "/health")`` — started, ready, stopped."""

    def __init__(self, app, startup_seconds: float = 60) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_seconds = startup_seconds
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        if wait_until_healthy(self.url, self.startup_seconds):
            return self
        self.__exit__()
        raise RuntimeError(f"server at {self.url} did not start within {self.startup_seconds} s")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServedProcess:
    """``with ServedProcess(settings, fields, log) as live: httpx.get(live.url + "/health")``: ``rag serve``
    in a child process on a free loopback port, the named ``settings`` fields passed as RAG_* variables,
    its output in ``log``; ready when it answers /health, stopped (SIGTERM, then SIGKILL) on exit.
    ``live.headers`` carry the API key, if the settings have one."""

    def __init__(self, settings, fields: tuple[str, ...], log: Path, startup_seconds: float = 180) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_seconds, self.log = startup_seconds, Path(log)
        self.headers = {"X-API-Key": settings.api_key} if settings.api_key else {}
        given = {f"RAG_{name.upper()}": str(getattr(settings, name)) for name in fields if getattr(settings, name) is not None}
        self.env = {**os.environ, **given}
        self.command = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "ServedProcess":
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.time() + self.startup_seconds
        while time.time() < deadline and self.process.poll() is None:
            if wait_until_healthy(self.url, 1):
                return self
        self.__exit__()
        tail = self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"rag serve at {self.url} did not start within {self.startup_seconds} s:\n{tail}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
