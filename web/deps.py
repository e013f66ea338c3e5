"""Shared request dependencies: the engine and the optional API key."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from rag.engine import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """When ``RAG_API_KEY`` is set, the API needs it (``X-API-Key`` or ``Authorization: Bearer``)."""
    expected = request.app.state.settings.api_key
    if not expected:
        return
    given = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None)
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="a valid API key is required (Authorization: Bearer KEY, or the X-API-Key header)")


EngineDep = Annotated[Engine, Depends(get_engine)]
ApiKey = Depends(require_api_key)
