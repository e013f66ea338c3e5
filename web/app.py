"""Assemble the FastAPI app: engine on startup, routes, error shapes, security headers."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.config import Settings, get_settings
from rag.engine import EmptyBase, Engine
from rag.index import IndexUnavailable
from rag.writer import AnswerWriter

from .guards import Guards
from .library import Library
from .routes import api, kbs, openai_api, pages

HERE = Path(__file__).parent
# Swagger UI's files as the fastapi-offline wheel ships them (a current release that reads OpenAPI 3.1).
SWAGGER_UI = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"
log = logging.getLogger("rag.web")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
RELOAD_POLL_SECONDS = 1.0
ECHO_CHARS = 200  # longer inputs are cut in error bodies (a 100k question is not sent back)


def _echo(value):
    """An input as sent back in an error: cut when long (a 100k question is not returned) and always encodable."""
    if isinstance(value, (list, dict)):
        try:
            if len(json.dumps(value, ensure_ascii=False).encode("utf-8")) <= ECHO_CHARS:
                return value
        except UnicodeEncodeError:
            pass
        value = str(value)
    if isinstance(value, str):
        value = value[:ECHO_CHARS] + ("…" if len(value) > ECHO_CHARS else "")
        value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    return value


def _readable(errors: list[dict]) -> str:
    """One line per problem: where, and what is wrong."""
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            where, message = "body", "is not valid JSON"
        elif error.get("type") == "model_attributes_type" and where == "body":
            message = "must be a JSON object sent with Content-Type: application/json"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def _openai(request: Request) -> bool:
    """Requests under /v1 get errors in the OpenAI shape, which the clients of that API parse."""
    return request.url.path == "/v1" or request.url.path.startswith("/v1/")


async def _watch_index(app: FastAPI) -> None:
    """Serve a rebuilt index as soon as ``rag index`` switches CURRENT; requests in flight finish on the old one."""
    while True:
        await asyncio.sleep(RELOAD_POLL_SECONDS)
        for engine in app.state.library.engines():
            try:
                if await asyncio.to_thread(engine.reload_if_changed):
                    log.info("now serving index %s", engine.index.version if engine.index else "(none: no documents)")
            except IndexUnavailable as exc:
                log.warning("new index not loaded, still serving %s: %s", engine.index.version if engine.index else "nothing", exc)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    from rag.parsing import quieten

    settings = settings or get_settings()
    quieten()  # a malformed PDF read in this process (rag add, tests) must not flood the log either

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.engine is None:
            app.state.engine = Engine(settings, allow_empty=True)  # an empty default base starts: users upload
        app.state.library = Library(settings, app.state.engine)
        await asyncio.to_thread(app.state.engine.warm_up)
        watcher = asyncio.create_task(_watch_index(app))
        yield
        watcher.cancel()

    app = FastAPI(
        title="Chinese article QA",
        summary="Ask questions about the corpus; get cited passages with the answer highlighted.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from bundled files: the stock page loads Swagger UI from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.writer = AnswerWriter.from_settings(settings)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})
        for error in errors:
            if "input" in error:
                error["input"] = _echo(error["input"])
        if _openai(request):  # OpenAI answers a malformed request with 400 and names the first bad parameter
            where = next((".".join(str(p) for p in e.get("loc", ()) if p != "body") for e in errors), None)
            return JSONResponse(status_code=400, content=openai_api.error_body(_readable(errors), 400, param=where or None))
        return JSONResponse(status_code=422, content={"detail": errors, "message": _readable(errors)})

    @app.exception_handler(EmptyBase)
    async def emptied(request: Request, exc: EmptyBase) -> JSONResponse:
        """The base's last document was deleted while this question was on its way: 409, as for an empty base."""
        message = f"no documents in this knowledge base (the last one was just deleted): {exc}"
        if _openai(request):
            return JSONResponse(status_code=409, content=openai_api.error_body(message, 409, "model", "knowledge_base_empty"))
        return JSONResponse(status_code=409, content={"detail": message, "message": message})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Every JSON error carries a readable ``message``, like validation errors do."""
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if isinstance(exc.__cause__, UnicodeDecodeError):
            message = "body: is not valid UTF-8 (send JSON encoded as UTF-8)"
        headers = getattr(exc, "headers", None)
        if _openai(request):
            code = getattr(exc, "code", None) or ("invalid_api_key" if exc.status_code == 401 else None)
            body = openai_api.error_body(message, exc.status_code, getattr(exc, "param", None), code, getattr(exc, "kind", None))
            return JSONResponse(status_code=exc.status_code, content=body, headers=headers)
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail, "message": message}, headers=headers)

    app.add_middleware(Guards, settings=settings)  # body cap and same-origin writes, before any route or key check

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    app.include_router(api.router)
    app.include_router(openai_api.router)
    app.include_router(kbs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
    return app
