"""Index jobs: an upload, a delete or an edit becomes a job that builds its base's next index version.

Each base has its own queue and worker thread: jobs of one base run one at a time in the order they
came (two changes never build one base at once), and a slow base does not hold up the others.
Questions keep being answered from the previous version until the new one is switched in
(``build_index`` switches atomically). Each job's state is a small JSON file replaced atomically,
and a job is recorded before its files are stored, so after a crash or a kill -9 every job that had
not finished is queued again at the next start: no upload is left in the corpus unindexed. A job
the server died in ``MAX_ATTEMPTS`` times (a file that kills it) is given up, its files removed.

A job can be cancelled (``cancel``): a queued one never runs; a running one stops at its next
checkpoint (between files read, between embedding batches), before anything is switched in.
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
from .parsing import ParseFailed, Parser

MAX_ATTEMPTS = 3
GAVE_UP = ("interrupted: the server stopped {n} times while running this job (the previous index version still "
           "serves; its new files were removed)")
CANCELLED = "cancelled: the previous index version still serves"
FINAL = ("done", "failed", "cancelled")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Job:
    id: str
    kb: str
    action: str  # add | remove | edit
    documents: list[str]
    state: str = "queued"  # queued | running | done | failed | cancelled
    stage: str = "queued"  # queued | reading | OCR page 3/20 (scan.pdf) | embedding | ready | failed | cancelled
    done: int = 0  # paragraphs embedded so far
    total: int = 0  # paragraphs to embed
    error: str | None = None
    created: str = field(default_factory=_now)
    finished: str | None = None
    index_version: str | None = None
    refused: list[str] = field(default_factory=list)  # this job's files that could not be indexed: "name: why"
    attempts: int = 0  # times a worker started it (more than one: the server stopped during it)


class JobCancelled(Exception):
    """Raised at a running job's checkpoint once it was asked to stop."""


class JobError(ValueError):
    """A request about a job that cannot be done (it is finished already); the message says why."""


Runner = Callable[[Job, Callable[..., None]], "str | None"]


class JobQueue:
    """``submit`` queues a job; ``get`` reads it; ``cancel`` stops it; ``runner(job, update)`` does the work.

    ``update(**changes)`` records progress and is the runner's checkpoint: it raises JobCancelled once
    the job was cancelled. ``on_cancelled(job)`` undoes what a cancelled or given-up job left behind.
    """

    def __init__(self, folder: Path, runner: Runner, on_cancelled: Callable[[Job], None] | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runner = runner
        self.on_cancelled = on_cancelled or (lambda job: None)
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, queue.Queue[Job]] = {}
        self._stopping: set[str] = set()
        self._lock = threading.Lock()
        unfinished = []
        for path in self.folder.glob("*.json"):
            try:
                job = Job(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            self._jobs[job.id] = job
            if job.state in ("queued", "running"):  # this process never ran it to the end: a crash or kill
                unfinished.append(job)
        for job in sorted(unfinished, key=lambda j: j.created):
            if job.attempts >= MAX_ATTEMPTS:
                self._finish(job, "failed", error=GAVE_UP.format(n=job.attempts))
                self.on_cancelled(job)
            else:
                self._update(job, state="queued", stage="queued", done=0, total=0)
                self._queue_of(job.kb).put(job)

    def submit(self, kb: str, action: str, documents: list[str], start: bool = True) -> Job:
        """Record a job (and queue it, unless ``start`` is False: call ``start`` once its files are stored)."""
        job = Job(id=uuid.uuid4().hex[:12], kb=kb, action=action, documents=documents)
        with self._lock:
            self._jobs[job.id] = job
            self._save(job)
        if start:
            self.start(job)
        return job

    def start(self, job: Job) -> None:
        self._queue_of(job.kb).put(job)

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def active(self, kb: str | None = None) -> list[Job]:
        """The queued and running jobs (of base ``kb``), oldest first."""
        jobs = [job for job in list(self._jobs.values()) if job.state in ("queued", "running") and kb in (None, job.kb)]
        return sorted(jobs, key=lambda job: job.created)

    def pending(self, kb: str | None = None) -> int:
        return len(self.active(kb))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job now, or ask a running one to stop at its next checkpoint."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if job.state in FINAL:
                raise JobError(f"job {job_id} is {job.state} already: there is nothing to cancel")
            if job.action == "remove":  # the file is gone already: stopping would leave its passages served
                raise JobError(f"job {job_id} takes deleted documents out of the index: it cannot be cancelled")
            if job.state == "running":
                self._stopping.add(job.id)
                return job
            job.state = "cancelled"  # the worker skips it when it comes up
        self._finish(job, "cancelled", error=CANCELLED)
        self.on_cancelled(job)
        return job

    def _queue_of(self, kb: str) -> queue.Queue:
        with self._lock:
            if kb not in self._queues:
                self._queues[kb] = queue.Queue()
                threading.Thread(target=self._work, args=(self._queues[kb],), name=f"index-jobs-{kb}", daemon=True).start()
            return self._queues[kb]

    def _update(self, job: Job, **changes) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self._save(job)

    def _finish(self, job: Job, state: str, **changes) -> None:
        self._update(job, state=state, stage={"done": "ready"}.get(state, state), finished=_now(), **changes)

    def _checkpoint(self, job: Job, **changes) -> None:
        if job.id in self._stopping:
            raise JobCancelled(job.id)
        if changes:
            self._update(job, **changes)

    def _work(self, jobs: queue.Queue) -> None:
        while True:
            job = jobs.get()
            with self._lock:
                if job.state != "queued":  # cancelled while it waited
                    continue
                job.state, job.stage, job.attempts = "running", "reading", job.attempts + 1
                self._save(job)
            try:
                version = self.runner(job, lambda **changes: self._checkpoint(job, **changes))
            except JobCancelled:
                self._finish(job, "cancelled", error=CANCELLED)
                self.on_cancelled(job)
            except (CorpusError, ParseFailed) as exc:  # their messages name the files
                self._finish(job, "failed", error=str(exc)[:1000])
            except Exception as exc:  # a failed job is reported, never kills the worker
                self._finish(job, "failed", error=f"{type(exc).__name__}: {exc}"[:1000])
            else:
                every_file_refused = job.action == "add" and job.documents and len(job.refused) >= len(job.documents)
                if every_file_refused:
                    self._finish(job, "failed", error="; ".join(job.refused)[:1000], index_version=version)
                else:
                    self._finish(job, "done", index_version=version)
            finally:
                self._stopping.discard(job.id)

    def _save(self, job: Job) -> None:
        path = self.folder / f"{job.id}.json"
        staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
        staging.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
        os.replace(staging, path)


def rebuild(kb: KnowledgeBase, embedder, update: Callable[..., None], settings=None, new: tuple[str, ...] | list[str] = (),
            ann_threshold: int | None = None) -> str | None:
    """Build the base's next index version from its corpus; returns it (None when the base is now empty).

    Every file is read in a child process within ``RAG_PARSE_SECONDS`` (and as long again for each page
    OCR reads; each such page becomes the job's stage, "OCR page 3/20 (scan.pdf)"). A file of ``new`` (the job's
    uploads) that cannot be read or indexed is removed from the corpus and reported by name through
    ``update(refused=[...])``; any other such file is left out of the index (as ``rag index`` does).
    """
    from .config import get_settings

    settings = settings or get_settings()
    refused: list[str] = []

    def refuse(doc_id: str, message: str) -> None:
        if doc_id in new:
            refused.append(message)
            kb.discard(doc_id)

    documents, skipped = [], []
    with Parser(settings, progress=lambda message: update(stage=message)) as parse:
        for path in kb.files():
            update()  # a cancel stops the job between files
            try:
                documents.append(parse(path, kb.corpus_dir))
            except ParseFailed as exc:
                skipped.append(str(exc))
                refuse(kb.doc_id(path), str(exc))
    try:
        built = build_index(kb.corpus_dir, kb.index_dir, embedder, ann_threshold=ann_threshold or settings.ann_threshold,
                            progress=False, settings=settings, documents=(documents, skipped),
                            max_paragraphs=settings.max_document_paragraphs,
                            on_refused=lambda document, message: refuse(document.doc_id, message),
                            on_embedded=lambda done, total: update(stage="embedding", done=done, total=total))
    except CorpusError:  # nothing indexable is left (the last document was deleted): the base has no index any more
        (kb.index_dir / CURRENT).unlink(missing_ok=True)
        update(refused=refused)
        return None
    update(refused=refused, done=built.manifest["embedded"], total=built.manifest["embedded"])
    return built.version
