"""What the bench's sections share: timing helpers, markdown tables, and the run (model, index, engine, server)."""

from __future__ import annotations

import resource
import tempfile
import time
from functools import cached_property
from pathlib import Path

import typer

from ..serving import ServedProcess

INSTALL_HINT = "pip install -e '.[bench]' (or: make bench)"
QUERIES = 50  # per timed series, after WARMUP
WARMUP = 5
TOP_K = 5


def optional(module: str, package: str):
    """Import an optional bench dependency, or stop with the install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        typer.echo(f"Error: this benchmark needs {package}: {INSTALL_HINT}", err=True)
        raise typer.Exit(1) from None


def say(message: str) -> None:
    typer.echo(f"[bench {time.strftime('%H:%M:%S')}] {message}", err=True)


def stats(ms: list[float]) -> dict:
    import numpy as np

    a = np.asarray(ms, dtype=float)
    return {"n": len(a), "p50": round(float(np.percentile(a, 50)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2), "mean": round(float(a.mean()), 2)}


def timed(fn, args: list) -> list[float]:
    """Milliseconds of ``fn(arg)`` for each arg."""
    out = []
    for arg in args:
        started = time.perf_counter()
        fn(arg)
        out.append((time.perf_counter() - started) * 1000)
    return out


def interleaved(steps: dict, items: list[dict]) -> dict[str, list[float]]:
    """Milliseconds of every step on every item, the steps taken in turn per item.

    Why: on a shared 2-core machine speed drifts by tens of percent within a minute; taking the
    steps side by side puts the same drift into each series, so their ratios stay fair.
    """
    ms: dict[str, list[float]] = {name: [] for name in steps}
    for item in items:
        for name, step in steps.items():
            started = time.perf_counter()
            step(item)
            ms[name].append((time.perf_counter() - started) * 1000)
    return ms


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def spread(items: list[dict], n: int) -> list[dict]:
    """``n`` items spread evenly over ``items`` (all kinds, in the gold set's order)."""
    import numpy as np

    return [items[i] for i in np.linspace(0, len(items) - 1, n).astype(int)]


def payload(item: dict) -> dict:
    return {"question": item["question"], "top_k": TOP_K, "history": item.get("history") or []}


def history(item: dict) -> list[str]:
    return [turn["question"] for turn in item.get("history") or []]


class Run:
    """What the sections share; the model, index and engine are made once, when first needed."""

    def __init__(self, settings, items: list[dict], workdir: Path, archive: Path | None = None) -> None:
        self.settings = settings
        self.items = items
        self.workdir = workdir
        self.archive = archive  # a folder with corpus/ and questions.jsonl, for the archive section
        self.index_dir: Path | None = None

    @cached_property
    def embedder(self):
        from ..embedding import Embedder

        return Embedder(self.settings, progress=False)

    def build_fresh(self, corpus: Path | None = None, embedder=None):
        """A timed ``build_index`` of ``corpus`` (the settings' by default) with ``embedder`` (the run's by
        default) into an empty folder, so no vector is reused. Returns (folder, seconds, index)."""
        from ..index import build_index

        folder = Path(tempfile.mkdtemp(prefix="index-", dir=self.workdir))
        started = time.perf_counter()
        index = build_index(corpus or self.settings.corpus_dir, folder, embedder or self.embedder,
                            ann_threshold=self.settings.ann_threshold, progress=False)
        return folder, time.perf_counter() - started, index

    @cached_property
    def served(self):
        """Settings pointing at the bench's own index."""
        if self.index_dir is None:
            self.index_dir = self.build_fresh()[0]
        return self.settings.model_copy(update={"index_dir": self.index_dir})

    @cached_property
    def engine(self):
        from ..engine import Engine

        return Engine(self.served, self.embedder)

    def server(self, **changes) -> ServedProcess:
        """``rag serve`` in a child process on a free loopback port, on the bench's index, with these
        settings changed (threads, workers, batch_windows): its own models, threads and event loop."""
        settings = self.served.model_copy(update={"kb_dir": self.workdir / "kbs", **changes})
        return ServedProcess(settings, ("index_dir", "kb_dir", "home", "runtime", "threads", "workers", "batch_windows",
                                        "read_depth", "reader_windows", "api_key"), self.workdir / "serve.log")
