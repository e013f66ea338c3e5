"""Shared request dependencies: the engine, the knowledge bases and the optional API key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from rag.engine import Engine

from .library import Library, NoDocuments


async def get_engine(request: Request) -> Engine:
    """The default knowledge base's engine. Async (as ``get_library``): a sync dependency waits for a
    thread of the pool, which 100 questions at once fill, and /health must not wait."""
    return request.app.state.engine


async def get_library(request: Request) -> Library:
    return request.app.state.library


def engine_for(library: Library, kb: str | None) -> Engine:
    """The engine of base ``kb`` (the default when None), or a 404/409 saying why there is none."""
    from rag.kb import UnknownBase

    try:
        return library.engine(kb)
    except UnknownBase as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except NoDocuments as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """When ``RAG_API_KEY`` is set, the API needs it (``X-API-Key`` or ``Authorization: Bearer``)."""
    if not has_api_key(request, x_api_key, authorization):
        raise HTTPException(status_code=401, detail="a valid API key is required (Authorization: Bearer KEY, or the X-API-Key header)")


def has_api_key(request: Request, x_api_key: str | None, authorization: str | None) -> bool:
    """Whether the request may read and write: no key is set, or it carries the key."""
    expected = request.app.state.settings.api_key
    if not expected:
        return True
    given = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None)
    return bool(given) and secrets.compare_digest(given.encode("utf-8", "replace"), expected.encode())


EngineDep = Annotated[Engine, Depends(get_engine)]
LibraryDep = Annotated[Library, Depends(get_library)]
ApiKey = Depends(require_api_key)
