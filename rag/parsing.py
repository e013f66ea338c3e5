"""Read corpus files in a child process, each within a time limit, for the index jobs of a server.

Why a process: a hostile or broken file (a PDF that takes minutes, a reader that loops) must not
hold the server's threads or its GIL, and a thread cannot be stopped at a limit; a process can. A
file that fails to read, or runs past its limit, gets a message naming it; the child is then
replaced and the next file read. pypdf's own warnings are quietened in the child, so a malformed
PDF cannot flood the server's log.

The child reads with ``load_document`` (``rag.formats``: the job's settings, OCR on) and reports
each page OCR reads ("OCR page 3/20 (scan.pdf)") to the parent, which passes it on as the job's
stage. The limit is ``RAG_PARSE_SECONDS`` for reading a file without its OCR, and as long again for
each page OCR reads: the clock restarts at each page (OCR takes ~8-10 s a page on one thread, so a
200-page scan may take half an hour, yet no single step can hang the job). The readers also stop
themselves at ``RAG_PARSE_SECONDS`` (a PDF's text layer, Office content), with a message saying where.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from typing import Callable

from .documents import Document, load_document, read_sidecar

STARTUP_SECONDS = 60
QUIET_LOGGERS = ("pypdf",)  # a malformed PDF logs a warning per broken object: thousands of lines


class ParseFailed(Exception):
    """A file could not be read; the message names it and says why."""


def display_name(path: Path) -> str:
    """The name the user knows a corpus file by: its uploaded name, else its own."""
    return str(read_sidecar(path).get("filename") or path.name)


def quieten() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _serve(requests: Connection, replies: Connection) -> None:
    """The child's loop: (path, root, settings) in; ("progress", message) while OCR reads pages, then
    ("ok", Document) or ("error", reason) out; until None."""
    import warnings

    quieten()
    warnings.simplefilter("ignore")
    replies.send(("ready", None))  # imports done: the time limit counts reading only
    while (request := requests.recv()) is not None:
        path, root, settings = request
        try:
            document = load_document(Path(path), Path(root), settings=settings, ocr=True,
                                     progress=lambda message: replies.send(("progress", message)))
            replies.send(("ok", document))
        except UnicodeDecodeError:
            replies.send(("error", "not UTF-8 text"))
        except Exception as exc:  # noqa: BLE001  (any reader error is this file's, reported by name)
            reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
            replies.send(("error", reason[:300]))


class Parser:
    """``with Parser(settings, progress) as parse: parse(path, root)`` returns a Document or raises ParseFailed.

    The child is ``python -m rag.parsing`` talking over its stdin and stdout (not multiprocessing's
    spawn, which re-runs the parent's main script, and not fork, unsafe in a threaded server).
    ``progress(message)`` hears each OCR page; it may raise (a cancelled job), which stops the child.
    """

    def __init__(self, settings, progress: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.seconds = settings.parse_seconds
        self.progress = progress or (lambda message: None)
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "Parser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "rag.parsing"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": _import_path()})
        self._requests = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._replies = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        try:
            if not self._replies.poll(STARTUP_SECONDS) or self._replies.recv()[0] != "ready":
                raise EOFError
        except (EOFError, OSError):
            self._stop()
            raise ParseFailed("the file reader (python -m rag.parsing) did not start") from None

    def close(self) -> None:
        if self._process is None:
            return
        try:
            self._requests.send(None)
            self._process.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self._stop()

    def _stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._requests.close()
        self._replies.close()
        self._process = None

    def __call__(self, path: Path, root: Path) -> Document:
        name = display_name(path)
        if self._process is None:
            try:
                self._start()
            except ParseFailed as exc:
                raise ParseFailed(f"{name}: {exc}") from None
        try:
            self._requests.send((str(path), str(root), self.settings))
            kind, value = "progress", None
            while kind == "progress":  # each OCR page restarts the clock
                if value is not None:
                    self.progress(value)
                if not self._replies.poll(self.seconds):
                    self._stop()
                    raise ParseFailed(f"{name}: reading it took longer than the limit of {self.seconds:g} s "
                                      "(RAG_PARSE_SECONDS; each OCR page gets as long again)")
                kind, value = self._replies.recv()
        except (EOFError, OSError):
            code = self._process.poll()
            self._stop()
            raise ParseFailed(f"{name}: the reader stopped while reading it (exit code {code})") from None
        except ParseFailed:
            raise
        except BaseException:  # progress raised (the job was cancelled) mid-file: the child is still reading it
            self._stop()
            raise
        if kind == "error":
            raise ParseFailed(f"{name}: {value}")
        return value


def _import_path() -> str:
    """The child imports this very package (a worktree on PYTHONPATH, or the installed one)."""
    here = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join([here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


if __name__ == "__main__":  # the child: replies on the real stdout; anything printed goes to stderr
    _replies_fd = os.dup(1)
    os.dup2(2, 1)
    _serve(Connection(0, writable=False), Connection(_replies_fd, readable=False))
