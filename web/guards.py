"""Request guards that run before any route: a cap on request bodies, and same-origin writes.

Both are plain ASGI, so they act before a body is parsed or an API key checked: a 10 MB JSON
body is refused (413) without being read into a model, and a page on another site cannot make a
visitor's browser add or delete documents on a server that has no API key (a form POST from
another origin carries that origin; curl and other non-browser clients send neither Origin nor
Referer and are let through, as they could send anything anyway).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.responses import JSONResponse

WRITES = ("POST", "PUT", "PATCH", "DELETE")
GUARDED = re.compile(r"^/(kbs|jobs|admin)(/|$)")  # what changes bases, documents and jobs
UPLOAD = re.compile(r"^/kbs/[^/]+/documents$")  # multipart, with its own cap (RAG_MAX_UPLOAD_MB)


def _refuse(scope, status: int, message: str) -> JSONResponse:
    if scope["path"] == "/v1" or scope["path"].startswith("/v1/"):
        from .routes.openai_api import error_body

        return JSONResponse(error_body(message, status), status_code=status)
    return JSONResponse({"detail": message, "message": message}, status_code=status)


class Guards:
    def __init__(self, app, settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WRITES:
            return await self.app(scope, receive, send)
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        if not self.settings.api_key and GUARDED.match(scope["path"]) and not _same_origin(headers):
            response = _refuse(scope, 403, "cross-site request refused: writes to this server must come from its own "
                               "pages (the Origin or Referer names another site); set RAG_API_KEY to allow clients with the key")
            return await response(scope, receive, send)
        if headers.get("content-type", "").lower().startswith("multipart/form-data") and UPLOAD.match(scope["path"]):
            return await self.app(scope, receive, send)
        limit = self.settings.max_json_kb * 1024
        too_big = _refuse(scope, 413, f"the request body is larger than the limit of {self.settings.max_json_kb} KB (RAG_MAX_JSON_KB)")
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                return await too_big(scope, receive, send)
            return await self.app(scope, receive, send)
        body, more = [], True  # no length given (chunked): read up to the limit, then hand the body on
        size = 0
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            size += len(message.get("body", b""))
            if size > limit:
                return await too_big(scope, receive, send)
            body.append(message.get("body", b""))
            more = message.get("more_body", False)
        replay = [{"type": "http.request", "body": b"".join(body), "more_body": False}]

        async def replayed():
            return replay.pop() if replay else await receive()

        return await self.app(scope, replayed, send)


def _same_origin(headers: dict[str, str]) -> bool:
    """Whether a write comes from this server's own pages: Origin (else Referer) names this host (or the
    host a reverse proxy says it forwarded, X-Forwarded-Host), or neither is sent."""
    origin = headers.get("origin") or headers.get("referer")
    if origin is None:
        return True
    if origin == "null":  # a sandboxed frame, a file:// page, a redirect across sites
        return False
    ours = {headers.get("host", "").lower()} | {h.strip().lower() for h in headers.get("x-forwarded-host", "").split(",") if h.strip()}
    return urlsplit(origin).netloc.lower() in ours
