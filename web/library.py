"""The server's knowledge bases: one engine per base (sharing one embedder and reader), and the job
queue that turns uploads and deletes into new index versions.

An engine may be empty (no documents yet, or the last one deleted): asking it is a 409 "no
documents", never an answer from the deleted documents' old index.
"""

from __future__ import annotations

import threading

from rag.config import Settings
from rag.engine import Engine
from rag.index import IndexUnavailable
from rag.jobs import Job, JobError, JobQueue, rebuild
from rag.kb import KnowledgeBase, KnowledgeBaseError, KnowledgeBases


class NoDocuments(KnowledgeBaseError):
    """The base exists but has no index yet (nothing uploaded, or everything deleted)."""


class BaseBusy(KnowledgeBaseError):
    """The base has an index job running; the message says what to do."""


class Library:
    def __init__(self, settings: Settings, default: Engine) -> None:
        self.settings = settings
        self.bases = KnowledgeBases(settings)
        self.default = default
        self._engines: dict[str, Engine] = {self.bases.default.name: default}
        self._lock = threading.Lock()
        self._deleted: set[tuple[str, str]] = set()  # (base, doc_id) deleted while the old index may still hold it
        self.jobs = JobQueue(self.bases.root / ".jobs", self._run, on_cancelled=self._undo)

    def base(self, name: str | None) -> KnowledgeBase:
        return self.bases.get(name or self.bases.default.name)

    def engine(self, name: str | None) -> Engine:
        """The engine answering from base ``name`` (the default base when None); NoDocuments when it is empty."""
        kb = self.base(name)
        engine = self._engine_of(kb)
        if engine.index is None:
            raise NoDocuments(f"knowledge base {kb.name!r} has no documents yet: upload some first")
        return engine

    def _engine_of(self, kb: KnowledgeBase) -> Engine:
        with self._lock:
            engine = self._engines.get(kb.name)
            if engine is None:
                settings = self.settings.model_copy(update={"index_dir": kb.index_dir, "corpus_dir": kb.corpus_dir})
                engine = Engine(settings, self.default.embedder, self.default.reader, allow_empty=True)
                self._engines[kb.name] = engine
        return engine

    def engines(self) -> list[Engine]:
        return list(self._engines.values())

    def reload(self, name: str) -> None:
        """Serve the base's newest version now (a job just switched it, or emptied the base)."""
        self._engine_of(self.base(name)).reload_if_changed()

    def remove_document(self, name: str | None, doc_id: str) -> Job:
        """Delete a document: its file goes now (and its article page with it); a job rebuilds the index."""
        kb = self.base(name)
        kb.remove(doc_id)
        self._deleted.add((kb.name, doc_id))
        return self.jobs.submit(kb.name, "remove", [doc_id])

    def added(self, name: str, doc_ids: list[str]) -> None:
        """Uploaded again after a delete: the document is served once more when its job is done."""
        self._deleted.difference_update((name, doc_id) for doc_id in doc_ids)

    def is_deleted(self, name: str | None, doc_id: str) -> bool:
        return (name or self.bases.default.name, doc_id) in self._deleted

    def delete(self, name: str) -> None:
        """Delete a base (not the default one): its queued jobs are cancelled; a running one must end first."""
        kb = self.base(name)
        if kb is self.bases.default:
            raise KnowledgeBaseError(f"the default knowledge base {name!r} cannot be deleted")
        running = [job for job in self.jobs.active(name) if job.state == "running"]
        if running:
            raise BaseBusy(f"knowledge base {name!r} has an index job running ({running[0].id}): "
                           f"cancel it (DELETE /jobs/{running[0].id}) or wait for it, then delete the base")
        for job in self.jobs.active(name):
            try:
                self.jobs.cancel(job.id)
            except JobError:  # a queued delete: it fails harmlessly once the base is gone
                pass
        with self._lock:
            engine = self._engines.pop(name, None)
        self.bases.delete(name)
        if engine is not None and engine.index is not None:
            engine.index.close()

    def _run(self, job: Job, update) -> str | None:
        kb = self.base(job.kb)
        version = rebuild(kb, self.default.embedder, update, self.settings, new=job.documents if job.action == "add" else ())
        try:
            self.reload(kb.name)
        except IndexUnavailable:
            pass  # the watcher reports it; the job's index was built
        return version

    def _undo(self, job: Job) -> None:
        """A cancelled (or given-up) upload leaves nothing: its files go, and if an earlier job of the
        base had already read them in, a rebuild takes them out of the index too."""
        if job.action != "add":
            return
        try:
            kb = self.base(job.kb)
        except KnowledgeBaseError:
            return
        for doc_id in job.documents:
            kb.discard(doc_id)
        try:
            served = self._engine_of(kb).index
        except IndexUnavailable:
            served = None
        jobs = getattr(self, "jobs", None)  # None while the queue is being opened (a job given up at start)
        if served is not None and any(doc_id in served.documents for doc_id in job.documents) and jobs is not None:
            jobs.submit(kb.name, "remove", list(job.documents))
