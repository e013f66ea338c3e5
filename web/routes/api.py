"""JSON API: ask a question, check health, switch to a rebuilt index."""

from __future__ import annotations

import json
from dataclasses import asdict

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from rag.index import IndexUnavailable
from rag.writer import Written

from ..deps import ApiKey, EngineDep, LibraryDep, engine_for
from ..schemas import AskRequest, AskResponse, Health

router = APIRouter(tags=["api"])


@router.post("/ask", response_model=AskResponse, dependencies=[ApiKey])
async def ask(body: AskRequest, library: LibraryDep) -> AskResponse:
    """Answer a question with cited passages; the answer span is highlighted in its citation."""
    engine = engine_for(library, body.kb)
    history = [turn.question for turn in body.history]
    response = await run_in_threadpool(engine.ask, body.question, body.top_k, history, filters=body.filters())
    return AskResponse.model_validate(asdict(response))


@router.post("/ask/stream", dependencies=[ApiKey], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
async def ask_stream(body: AskRequest, request: Request, library: LibraryDep) -> StreamingResponse:
    """``/ask`` as Server-Sent Events, for a page that shows a written answer as it is written.

    Events: ``answer`` (the /ask body, at once), then, when an answer writer is configured,
    ``delta`` ({"text"}) as the writer writes and ``written`` ({"text", "written", "note", "cited"}),
    the checked result: the page replaces the live text with it.
    """
    engine = engine_for(library, body.kb)
    history = [turn.question for turn in body.history]
    response = await run_in_threadpool(engine.ask, body.question, body.top_k, history, filters=body.filters())
    answer = AskResponse.model_validate(asdict(response)).model_dump()
    writer = request.app.state.writer

    def events():
        yield _event("answer", answer)
        for item in writer.stream(response) if writer else ():
            if isinstance(item, Written):
                yield _event("written", {"text": item.text, "written": item.written, "note": item.note, "cited": item.cited})
            else:
                yield _event("delta", {"text": item})

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/health", response_model=Health)
async def health(engine: EngineDep) -> Health:
    """Up, and what is served. On the event loop, not the thread pool: uploads and 100 questions at
    once fill the pool's threads, and a load balancer's check must still answer at once."""
    index = engine.index
    if index is None:  # the default base is empty: the server is up, waiting for uploads
        return Health(status="ok", documents=0, chunks=0, model=engine.embedder.name, index_version="", built_at="")
    return Health(
        status="ok", documents=index.manifest["documents"], chunks=index.manifest["chunks"],
        model=index.manifest["model"], index_version=index.version, built_at=index.manifest["built_at"],
    )


@router.post("/admin/reload", dependencies=[ApiKey])
def reload(engine: EngineDep) -> dict:
    """Switch to the index version that ``rag index`` made current (the server also polls for it)."""
    try:
        changed = engine.reload_if_changed()
    except IndexUnavailable as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    return {"reloaded": changed, "index_version": engine.index.version if engine.index else None}
