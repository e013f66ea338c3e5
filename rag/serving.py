"""Serve an ASGI app with uvicorn in a background thread on a free loopback port.

For the benchmark and the tests, which need a real server in the same process (sharing the
loaded model) rather than a mocked client.
"""

from __future__ import annotations

import socket
import threading
import time

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
