"""The question-answering engine: one object that the CLI, the API and the evaluation share.

It holds the loaded index, the model and the answer step, and swaps in a newer index version
when ``rag index`` has switched ``CURRENT`` (requests in flight finish on the old one). A server's
engine may be empty (``allow_empty``): a base with no documents yet, or whose last one was deleted,
answers nothing rather than keep serving the deleted documents.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .answer import Answer, Answerer, value_key
from .config import Settings, get_settings
from .crosslingual import EnglishExpander
from .index import Index, IndexUnavailable
from . import timeline
from .question import QuestionReader
from .scope import Filters, Scope
from .search import Query, Searcher


@dataclass
class Citation:
    rank: int
    doc_id: str
    title: str
    date: str
    source: str
    paragraph: int
    text: str
    score: float
    highlight: list[int] | None
    heading: str = ""
    kind: str = "body"
    found_by: list[str] = field(default_factory=list)
    ocr: bool = False  # the passage was read off a page image by OCR


@dataclass
class Response:
    question: str
    answer: str | None
    citations: list[Citation]
    took_ms: float
    status: str = "answered"
    value: str | None = None
    conflict: list[dict] = field(default_factory=list)
    confidence: float = 0.0
    rewritten: str | None = None
    timeline: list[dict] = field(default_factory=list)


class EmptyBase(IndexUnavailable):
    """The base has no documents (nothing uploaded yet, or the last one was deleted)."""


@dataclass
class _State:
    index: Index
    searcher: Searcher
    reader: QuestionReader
    answerer: Answerer
    scope: Scope


class Engine:
    """``Engine.open()`` loads everything once; ``engine.ask(...)`` answers a question."""

    def __init__(self, settings: Settings | None = None, embedder=None, reader=None, allow_empty: bool = False) -> None:
        self.settings = settings or get_settings()
        empty = allow_empty and Index.current_version(self.settings.index_dir) is None
        index = None if empty else Index.load(self.settings.index_dir, self.settings)  # fail fast, before the model loads
        if embedder is None:
            from .embedding import Embedder

            embedder = Embedder(self.settings)
            if self.settings.batch_windows == 1:  # batching off is off for questions too, as measured
                embedder.batching(1)
        self.embedder = embedder
        if reader is None:
            from .reader.build import ensure_reader
            from .reader.reader import Reader

            reader = Reader(ensure_reader(self.settings.home), threads=self.settings.threads,
                            windows_per_passage=self.settings.reader_windows, runtime=self.settings.runtime,
                            max_windows=self.settings.batch_windows, workers=self.settings.workers,
                            home=self.settings.home, passage_tokens=self.settings.reader_tokens)
        self.reader = reader
        self._lock = threading.Lock()
        self._state = None if index is None else self._load(index)

    def _load(self, index: Index) -> _State:
        if index.manifest.get("model") != self.embedder.name:
            from .index import IndexUnavailable

            raise IndexUnavailable(
                f"index at {index.path} was built with model {index.manifest.get('model')!r}, "
                f"not {self.embedder.name!r}: run `rag index` to rebuild it"
            )
        questions = QuestionReader(index.tokenizer, EnglishExpander(set(index.document_frequency), index.tokenizer))
        return _State(
            index=index,
            searcher=Searcher(index, self.embedder, index.tokenizer),
            reader=questions,
            answerer=Answerer(self.reader, index.idf(), chunks=index.chunks, read_depth=self.settings.read_depth,
                              places=questions.places, read_first=self.settings.read_first),
            scope=Scope(index.chunks),
        )

    def warm_up(self) -> None:
        """Answer one question so the first user does not pay for lazy loading (jieba's tagger, torch kernels)."""
        if self._state is not None:
            self.ask("鹿泉区2024年电子信息产业目标是多少")

    @property
    def index(self) -> Index | None:
        """The version being served; None while the base is empty."""
        state = self._state
        return state.index if state is not None else None

    @property
    def answerer(self) -> Answerer:
        return self._serving().answerer

    def _serving(self) -> _State:
        state = self._state
        if state is None:
            raise EmptyBase(f"no documents in {self.settings.corpus_dir}: add some (`rag add FILE`, or upload them "
                            "on the documents page) before asking")
        return state

    def reload_if_changed(self) -> bool:
        """Switch to the version ``CURRENT`` names, if it is not the one being served; to nothing once
        ``CURRENT`` is gone (the last document was deleted: its passages must not be served any more)."""
        current = Index.current_version(self.settings.index_dir)
        if current == (self._state.index.version if self._state else None):
            return False
        with self._lock:
            current = Index.current_version(self.settings.index_dir)
            if current == (self._state.index.version if self._state else None):
                return False
            self._state = None if current is None else self._load(Index.load(self.settings.index_dir, self.settings))
        return True

    def ask(self, question: str, top_k: int = 5, history: list[str] | None = None, mode: str = "hybrid",
            filters: Filters | None = None) -> Response:
        started = time.perf_counter()
        question = question.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from broken input
        state = self._serving()  # one consistent version for the whole request
        parsed, answer = self._answer(state, question, history, top_k, mode, filters)
        if parsed.rewritten and not state.reader.surely_follow_up(question):
            # Read as a follow-up only because it names no place or year: asked alone, it may answer better.
            alone, alone_answer = self._answer(state, question, [], top_k, mode, filters)
            if alone_answer.status != "not_found" and (answer.status == "not_found" or alone_answer.confidence > answer.confidence):
                parsed, answer = alone, alone_answer
        return Response(
            question=question,
            answer=answer.text,
            citations=_citations(answer),
            took_ms=round((time.perf_counter() - started) * 1000, 1),
            status=answer.status,
            value=answer.value,
            conflict=answer.conflict,
            confidence=round(answer.confidence, 3),
            rewritten=parsed.text if parsed.rewritten else None,
            timeline=_ranked(answer.timeline, answer),
        )

    def retrieve(self, question: str, history: list[str] | None = None, k: int | None = None, mode: str = "hybrid",
                 filters: Filters | None = None):
        """The question as understood (follow-ups resolved) and its top ``k`` passages (the read depth by default)."""
        parsed, _, hits = self._retrieve(self._serving(), question, history, k, mode, filters)
        return parsed, hits

    def _retrieve(self, state: _State, question: str, history: list[str] | None, k: int | None, mode: str,
                  filters: Filters | None):
        """The question as understood, the documents it names (None: any; empty: one the index lacks) and its
        top passages among those documents and the caller's ``filters``."""
        parsed = state.reader(question, history)
        named = state.scope(parsed.text)
        # A document the index lacks (named is empty) limits nothing: the passages found are shown, none answers.
        within = state.scope.rows(filters, named or None)
        query = Query(parsed.embedded, parsed.keywords)
        return parsed, named, state.searcher(query, k=k or state.answerer.depth, mode=mode, within=within)

    def _answer(self, state: _State, question: str, history: list[str] | None, top_k: int, mode: str,
                filters: Filters | None = None):
        parsed, named, hits = self._retrieve(state, question, history, max(top_k, state.answerer.depth, timeline.HITS), mode, filters)
        return parsed, state.answerer(parsed, hits, top_k=top_k, named=named)


def _ranked(entries: list[dict], answer: Answer) -> list[dict]:
    """Each timeline entry with the rank of its citation."""
    ranks = {(r.hit.chunk.doc_id, r.hit.chunk.paragraph): rank for rank, r in enumerate(answer.readings, start=1)}
    return [{**e, "rank": ranks.get((e["doc_id"], e["paragraph"]))} for e in entries]


def _citations(answer: Answer) -> list[Citation]:
    citations = []
    conflict_readings = {(c["doc_id"], c["paragraph"]) for c in answer.conflict + answer.timeline}
    for rank, reading in enumerate(answer.readings, start=1):
        chunk = reading.hit.chunk
        highlight = None
        # Highlight the answer, the conflicting values, and passages that state the same value.
        same_value = answer.value is not None and reading.value is not None and value_key(reading.value) == value_key(answer.value)
        if answer.status != "not_found" and (rank == 1 or (chunk.doc_id, chunk.paragraph) in conflict_readings or same_value):
            highlight = [reading.span.start, reading.span.end] if reading.span else list(reading.sentence)
        citations.append(Citation(
            rank=rank, doc_id=chunk.doc_id, title=chunk.title, date=chunk.date, source=chunk.source,
            paragraph=chunk.paragraph, text=chunk.text, score=round(reading.hit.score, 4), highlight=highlight,
            heading=chunk.heading, kind=chunk.kind, found_by=reading.hit.found_by, ocr=chunk.ocr,
        ))
    return citations
