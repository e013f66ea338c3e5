"""JSON API: ask a question, check health, switch to a rebuilt index."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from rag.index import IndexUnavailable

from ..deps import ApiKey, EngineDep
from ..schemas import AskRequest, AskResponse, Health

router = APIRouter(tags=["api"])


@router.post("/ask", response_model=AskResponse, dependencies=[ApiKey])
async def ask(body: AskRequest, engine: EngineDep) -> AskResponse:
    """Answer a question with cited passages; the answer span is highlighted in its citation."""
    history = [turn.question for turn in body.history]
    response = await run_in_threadpool(engine.ask, body.question, body.top_k, history)
    return AskResponse.model_validate(asdict(response))


@router.get("/health", response_model=Health)
def health(engine: EngineDep) -> Health:
    index = engine.index
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
    return {"reloaded": changed, "index_version": engine.index.version}
