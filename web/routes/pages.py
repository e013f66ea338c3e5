"""HTML pages: the chat, and an article view scrolled to a cited paragraph."""

from __future__ import annotations

import re
from pathlib import Path

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from rag.kb import UnknownBase

from ..deps import LibraryDep, has_api_key
from ..library import Library, NoDocuments

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")  # autoescapes .html
_SPAN = re.compile(r"([0-9]{1,7})-([0-9]{1,7})")


def _page_of(request: Request, library: Library, kb: str | None) -> dict | HTMLResponse:
    """What every page says about the chosen base: its name, page text, document count, the other bases."""
    try:
        base = library.base(kb)
    except UnknownBase as exc:
        return _problem(request, 404, f"没有这个知识库 (no such knowledge base): {exc}")
    try:
        documents = library.engine(base.name).index.manifest["documents"]
    except NoDocuments:
        documents = 0
    return {"kb": base.name, "page": base.page(), "documents": documents, "bases": library.bases.names(),
            "default_kb": library.bases.default.name}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat(request: Request, library: LibraryDep, kb: str | None = None) -> HTMLResponse:
    context = _page_of(request, library, kb)
    if isinstance(context, HTMLResponse):
        return context
    return templates.TemplateResponse(request, "chat.html", {**context, "writer": request.app.state.writer is not None})


@router.get("/documents", response_class=HTMLResponse, include_in_schema=False)
def documents(request: Request, library: LibraryDep, kb: str | None = None) -> HTMLResponse:
    """Manage a base's documents: upload (drag and drop), progress, list, delete; create a base."""
    context = _page_of(request, library, kb)
    if isinstance(context, HTMLResponse):
        return context
    return templates.TemplateResponse(request, "documents.html", {**context, "max_upload_mb": library.settings.max_upload_mb})


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """Interactive API docs (Swagger UI), working offline."""
    return templates.TemplateResponse(request, "docs.html", {"title": request.app.title, "openapi_url": request.app.openapi_url})


def _problem(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


@router.get("/articles/{doc_id:path}", response_class=HTMLResponse, include_in_schema=False)
def article(request: Request, doc_id: str, library: LibraryDep, p: str | None = None, hl: str | None = None,
            kb: str | None = None, x_api_key: Annotated[str | None, Header()] = None,
            authorization: Annotated[str | None, Header()] = None) -> HTMLResponse:
    """The whole article, paragraph by paragraph as indexed (so ``p`` matches a citation's paragraph).

    ``doc_id`` is only ever a key into the loaded index, never a path on disk. With ``RAG_API_KEY``
    set it needs the key: a browser following a citation link gets a page that asks for it (as the
    chat page does) and fetches the article with it. A document deleted from the corpus is not
    shown, even while the job that takes it out of the index is still running.
    """
    if not has_api_key(request, x_api_key, authorization):
        return templates.TemplateResponse(request, "key.html", {}, status_code=401)
    try:
        index = library.engine(kb).index  # one version for the whole page
    except (UnknownBase, NoDocuments) as exc:
        return _problem(request, 404, f"没有这篇文章 (no such article): {exc}")
    document = index.documents.get(doc_id)
    if document is None or library.is_deleted(kb, doc_id):
        return _problem(request, 404, f"没有这篇文章：“{doc_id[:200]}” (no such article)")
    chunks = [chunk for chunk in index.chunks if chunk.doc_id == doc_id]
    numbered = {chunk.paragraph: chunk for chunk in chunks}

    cited = None
    if p is not None:
        if not p.isascii() or not p.isdigit() or int(p) < 1:
            return _problem(request, 422, f"段落编号必须是正整数，收到的是“{p[:50]}” (p must be a positive integer)")
        cited = int(p)
        if cited not in numbered:
            return _problem(request, 404, f"这篇文章只有 {len(chunks)} 段 (no paragraph {cited} in this article)")
    mark = None
    if hl is not None:
        match = _SPAN.fullmatch(hl)
        if cited is None or not match:
            return _problem(request, 422, "hl 必须写成 start-end，并且要同时给出 p (hl must be start-end, with p)")
        start, end = int(match[1]), int(match[2])
        if not start < end <= len(numbered[cited].text):
            return _problem(request, 422, f"hl 超出第 {cited} 段的范围 (hl {hl} is outside paragraph {cited})")
        mark = (start, end)

    paragraphs, previous = [], None
    flat_title = "".join(document["title"].split())
    for chunk in chunks:
        heading = chunk.heading if chunk.heading != previous and "".join(chunk.heading.split()) not in flat_title else ""
        previous = chunk.heading
        text = chunk.text
        parts = (text[:mark[0]], text[mark[0]:mark[1]], text[mark[1]:]) if mark and chunk.paragraph == cited else (text, "", "")
        paragraphs.append({"n": chunk.paragraph, "kind": chunk.kind, "heading": heading, "parts": parts})
    return templates.TemplateResponse(request, "article.html", {
        "document": document, "paragraphs": paragraphs, "cited": cited,
        "kb": kb or library.bases.default.name, "default_kb": library.bases.default.name,
    })
