"""Micro-batching: concurrent callers of a model share one call.

Why: under load every question waited for the one model call in front of it, and small
matrices leave a CPU core's vector units half idle. A :class:`Batcher` runs ``fn`` on worker
threads; a caller's items join whatever is queued when a worker becomes free, up to
``max_items``. There is no waiting window: a lone question goes straight through (the cost is a
queue hand-off, microseconds), and batches form only while a call is already running. A
caller's items are never split across calls unless it hands them over in parts (:meth:`Batcher.parts`),
and each caller gets back its own results.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence


@dataclass
class _Job:
    items: Sequence
    done: threading.Event = field(default_factory=threading.Event)
    results: list | None = None
    error: BaseException | None = None


class Batcher:
    """``batcher(items) -> results`` (one result per item, in order), where ``fn(items) -> results``
    is called on the joined items of every caller waiting at that moment.

    ``max_items`` 1 turns batching off (each caller's items alone); ``workers`` calls may run
    at once (one per core, each with its own torch thread, uses a second core under load).
    """

    def __init__(self, fn: Callable[[list], list], max_items: int = 64, workers: int = 1, name: str = "batcher") -> None:
        if max_items < 1 or workers < 1:
            raise ValueError("max_items and workers must be at least 1")
        self.fn, self.max_items, self.workers = fn, max_items, workers
        self.calls = 0  # model calls made, and callers served: their ratio is the mean batch
        self.jobs = 0
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._held: _Job | None = None  # a job that did not fit in the last batch goes first next time
        self._take = threading.Lock()  # one worker gathers a batch at a time
        for number in range(workers):
            threading.Thread(target=self._work, name=f"{name}-{number}", daemon=True).start()

    def __call__(self, items: Sequence) -> list:
        return self.parts([items])[0]

    def parts(self, parts: Sequence[Sequence]) -> list[list]:
        """Each part's results; the parts are queued at once, so idle workers run them side by side
        (a lone question's windows split over two cores)."""
        jobs = [_Job(items) for items in parts]
        for job in jobs:
            if job.items:
                self._queue.put(job)
        for job in jobs:
            if job.items:
                job.done.wait()
        for job in jobs:
            if job.error is not None:
                raise job.error
        return [job.results if job.items else [] for job in jobs]

    def close(self) -> None:
        """Stop the workers once the work already queued is done."""
        for _ in range(self.workers):
            self._queue.put(None)

    def _gather(self) -> list[_Job]:
        """The jobs of the next call (none: a worker was told to stop)."""
        with self._take:
            first = self._held or self._queue.get()
            self._held = None
            if first is None:
                return []
            jobs, size = [first], len(first.items)
            while size < self.max_items:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:  # a stop: left for the next gathering, after this call
                    self._queue.put(None)
                    break
                if size + len(job.items) > self.max_items:
                    self._held = job
                    break
                jobs.append(job)
                size += len(job.items)
            return jobs

    def _work(self) -> None:
        while True:
            jobs = self._gather()
            if not jobs:
                return
            items = [item for job in jobs for item in job.items]
            try:
                results = self.fn(items)
                if len(results) != len(items):
                    raise RuntimeError(f"batched call returned {len(results)} results for {len(items)} items")
            except BaseException as error:  # the callers get the error; the worker lives on
                for job in jobs:
                    job.error = error
                    job.done.set()
                continue
            self.calls += 1
            self.jobs += len(jobs)
            start = 0
            for job in jobs:
                job.results = list(results[start:start + len(job.items)])
                start += len(job.items)
                job.done.set()
