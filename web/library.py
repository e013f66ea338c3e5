"""The server's knowledge bases: one engine per base with an index (sharing one embedder and reader),
and the job queue that turns uploads and deletes into new index versions."""

from __future__ import annotations

import threading

from rag.config import Settings
from rag.engine import Engine
from rag.index import Index, IndexUnavailable
from rag.jobs import Job, JobQueue, rebuild
from rag.kb import KnowledgeBase, KnowledgeBaseError, KnowledgeBases


class NoDocuments(KnowledgeBaseError):
    """The base exists but has no index yet (nothing uploaded, or everything deleted)."""


class Library:
    def __init__(self, settings: Settings, default: Engine) -> None:
        self.settings = settings
        self.bases = KnowledgeBases(settings)
        self.default = default
        self._engines: dict[str, Engine] = {self.bases.default.name: default}
        self._lock = threading.Lock()
        self.jobs = JobQueue(self.bases.root / ".jobs", self._run)

    def base(self, name: str | None) -> KnowledgeBase:
        return self.bases.get(name or self.bases.default.name)

    def engine(self, name: str | None) -> Engine:
        """The engine answering from base ``name`` (the default base when None)."""
        kb = self.base(name)
        with self._lock:
            engine = self._engines.get(kb.name)
            if engine is None:
                if Index.current_version(kb.index_dir) is None:
                    raise NoDocuments(f"knowledge base {kb.name!r} has no documents yet: upload some first")
                settings = self.settings.model_copy(update={"index_dir": kb.index_dir, "corpus_dir": kb.corpus_dir})
                engine = Engine(settings, self.default.embedder, self.default.reader)
                self._engines[kb.name] = engine
        return engine

    def engines(self) -> list[Engine]:
        return list(self._engines.values())

    def reload(self, name: str) -> None:
        """Serve the base's newest version now (a job just switched it, or emptied the base)."""
        kb = self.base(name)
        with self._lock:
            engine = self._engines.get(kb.name)
            if Index.current_version(kb.index_dir) is None:
                if kb.name != self.bases.default.name:
                    self._engines.pop(kb.name, None)
                return
        if engine is not None:
            engine.reload_if_changed()

    def _run(self, job: Job, update) -> str | None:
        kb = self.base(job.kb)
        version = rebuild(kb, self.default.embedder, update, ann_threshold=self.settings.ann_threshold, settings=self.settings)
        try:
            self.reload(kb.name)
        except IndexUnavailable:
            pass  # the watcher reports it; the job's index was built
        return version
