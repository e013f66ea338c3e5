"""HTML pages: the chat, and an article view scrolled to a cited paragraph."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from ..deps import EngineDep

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat(request: Request, engine: EngineDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "chat.html", {"documents": engine.index.manifest["documents"]})
