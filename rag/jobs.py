"""Index jobs: an upload, a delete or an edit becomes a job that builds its base's next index version.

Jobs run one at a time in the order they came (one worker thread), so two changes never build at
once; questions keep being answered from the previous version until the new one is switched in
(``build_index`` switches atomically). Each job's state is a small JSON file replaced atomically,
so after a crash or a kill -9 the job that was running is reported failed at the next start, and
the version it was building was never switched in: the previous one still serves.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .documents import CorpusError
from .index import CURRENT, build_index
from .kb import KnowledgeBase

INTERRUPTED = "interrupted: the server stopped before this job finished (the previous index version still serves)"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kb: str
    action: str  # add | remove | edit
    documents: list[str]
    state: str = "queued"  # queued | running | done | failed
    stage: str = "queued"  # queued | reading | OCR page 3/20 (scan.pdf) | embedding | ready | failed
    done: int = 0  # paragraphs embedded so far
    total: int = 0  # paragraphs to embed
    error: str | None = None
    created: str = field(default_factory=_now)
    finished: str | None = None
    index_version: str | None = None


Runner = Callable[[Job, Callable[..., None]], "str | None"]


class JobQueue:
    """``submit`` queues a job; ``get`` reads its state; ``runner(job, update)`` does the work and returns the new version."""

    def __init__(self, folder: Path, runner: Runner) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runner = runner
        self._jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        for path in self.folder.glob("*.json"):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            if job.state in ("queued", "running"):  # this process never ran it to the end: a crash or kill
                job.state, job.stage, job.error, job.finished = "failed", "failed", INTERRUPTED, _now()
                self._save(job)
            self._jobs[job.id] = job
        self._worker = threading.Thread(target=self._work, name="index-jobs", daemon=True)
        self._worker.start()

    def submit(self, kb: str, action: str, documents: list[str]) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], kb=kb, action=action, documents=documents)
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def pending(self) -> int:
        return sum(job.state in ("queued", "running") for job in self._jobs.values())

    def _update(self, job: Job, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self._save(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            self._update(job, state="running", stage="reading")
            try:
                version = self.runner(job, lambda **changes: self._update(job, **changes))
            except Exception as exc:  # a failed job is reported, never kills the worker
                self._update(job, state="failed", stage="failed", error=f"{type(exc).__name__}: {exc}"[:500], finished=_now())
            else:
                self._update(job, state="done", stage="ready", index_version=version, finished=_now())

    def _save(self, job: Job) -> None:
        path = self.folder / f"{job.id}.json"
        staging = path.with_name(f".{path.name}.tmp")
        staging.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
        os.replace(staging, path)


def rebuild(kb: KnowledgeBase, embedder, update: Callable[..., None], ann_threshold: int = 200_000, settings=None) -> str | None:
    """Build the base's next index version from its corpus; returns it (None when the base is now empty)."""
    try:
        built = build_index(kb.corpus_dir, kb.index_dir, embedder, ann_threshold=ann_threshold, progress=False,
                            on_embedded=lambda done, total: update(stage="embedding", done=done, total=total),
                            on_read=lambda message: update(stage=message),  # "OCR page 3/20 (scan.pdf)"
                            settings=settings)
    except CorpusError:  # the last document was deleted: the base has no index any more
        (kb.index_dir / CURRENT).unlink(missing_ok=True)
        return None
    update(done=built.manifest["embedded"], total=built.manifest["embedded"])
    return built.version
