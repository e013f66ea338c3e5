"""OpenAI-compatible chat API: ``GET /v1/models`` and ``POST /v1/chat/completions``, plain or streamed.

Chat clients and SDKs that speak the OpenAI protocol (Open WebUI, LobeChat, the openai SDK,
LangChain's ``ChatOpenAI``) ask a knowledge base as if it were a model: ``model`` names the base,
the last user message is the question, and the earlier user messages are the history that
follow-ups are read against. The reply is the answer followed by its numbered sources; the full
citations (highlight offsets, conflicting values) travel in the extra field ``rag``, in the shape
``/ask`` returns, for a client that knows us.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from rag.engine import Response
from rag.writer import Written

from ..deps import ApiKey
from ..library import NoDocuments
from ..schemas import AskResponse

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
HISTORY_TURNS = 50
NOT_FOUND = "文档中没有找到这个问题的答案。"
_PIECE = re.compile(r"[^。！？；\n]*(?:[。！？；]|\n+)?")


class OpenAIError(HTTPException):
    """An error a client of the OpenAI API can read: ``{"error": {message, type, param, code}}``."""

    def __init__(self, status_code: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(status_code=status_code, detail=message)
        self.param, self.code, self.kind = param, code, kind


def error_body(message: str, status_code: int, param: str | None = None, code: str | None = None,
               kind: str | None = None) -> dict:
    if kind is None:
        kind = {401: "authentication_error", 404: "not_found_error"}.get(status_code, "invalid_request_error")
        kind = "server_error" if status_code >= 500 else kind
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: StrictStr
    text: StrictStr | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: StrictStr | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = Field(default=False, strict=True)


class ChatRequest(BaseModel):
    """The OpenAI chat-completions request; sampling settings (temperature, top_p …) mean nothing to an extractive answer and are ignored."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"model": "default", "messages": [{"role": "user", "content": "鹿泉区2024年电子信息产业目标是多少"}], "stream": False}]})

    model: StrictStr = Field(min_length=1, description="a knowledge base name, as GET /v1/models lists them")
    messages: list[Message] = Field(min_length=1, max_length=200)
    stream: bool = Field(default=False, strict=True)
    stream_options: StreamOptions | None = None
    user: str | None = None


def knowledge_bases(request: Request) -> list[str]:
    return request.app.state.library.bases.names()


def _model_card(name: str, built_at: str) -> dict:
    try:
        created = int(datetime.fromisoformat(built_at).timestamp())
    except (TypeError, ValueError):
        created = 0
    return {"id": name, "object": "model", "created": created, "owned_by": "rag-zh"}


def _built_at(request: Request, name: str) -> str:
    try:
        return request.app.state.library.engine(name).index.manifest.get("built_at", "")
    except NoDocuments:
        return ""


@router.get("/models", dependencies=[ApiKey])
def list_models(request: Request) -> dict:
    """The knowledge bases, as models a chat client can pick."""
    return {"object": "list", "data": [_model_card(name, _built_at(request, name)) for name in knowledge_bases(request)]}


@router.get("/models/{model}", dependencies=[ApiKey])
def get_model(model: str, request: Request) -> dict:
    if model not in knowledge_bases(request):
        raise _unknown_model(request, model)
    return _model_card(model, _built_at(request, model))


def _unknown_model(request: Request, model: str) -> OpenAIError:
    names = ", ".join(knowledge_bases(request))
    return OpenAIError(404, f"model {model[:100]!r} does not exist: the knowledge bases here are {names}",
                       param="model", code="model_not_found")


def _question(request: Request, body: ChatRequest) -> tuple[str, list[str]]:
    """The last user message is the question; earlier user messages are its history.

    Every message's text counts toward ``RAG_MAX_CHAT_CHARS``, not only the question's: 200 messages
    of 1 MB each would otherwise be read, counted and tokenised for nothing."""
    cap = request.app.state.settings.max_chat_chars
    if sum(len(m.text()) for m in body.messages) > cap:
        raise OpenAIError(400, f"messages: their text is longer than {cap} characters in all (RAG_MAX_CHAT_CHARS)",
                          param="messages")
    asked = [m.text() for m in body.messages if m.role == "user"]
    if not asked:
        raise OpenAIError(400, "messages: needs at least one message with role 'user' (the question)", param="messages")
    question = asked[-1].strip()
    if not question:
        raise OpenAIError(400, "messages: the last user message is empty", param="messages")
    limit = request.app.state.settings.max_question_chars
    if len(question) > limit:
        raise OpenAIError(400, f"messages: the question is longer than {limit} characters", param="messages")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise OpenAIError(400, "messages: text contains an unpaired surrogate (not valid Unicode)", param="messages") from None
    history = [text.strip() for text in asked[:-1] if text.strip()][-HISTORY_TURNS:]
    return question, history


def reply_text(response: Response, written: Written) -> str:
    """The answer, then its sources numbered as the citations (``[n]`` in a written answer points here)."""
    lines = [written.text or NOT_FOUND, ""]
    lines.append("来源：" if response.status != "not_found" else "最接近的段落（都没有回答这个问题）：")
    for c in response.citations:
        where = " · ".join(part for part in (c.date, c.source, f"第{c.paragraph}段") if part)
        lines.append(f"{c.rank}. 《{c.title}》 {where}")
    return "\n".join(lines if response.citations else lines[:1])


def _extra(response: Response, written: Written, model: str) -> dict:
    return {**AskResponse.model_validate(asdict(response)).model_dump(), "knowledge_base": model,
            "written": written.written, "writer_note": written.note, "cited": written.cited}


def _usage(engine, body: ChatRequest, content: str, written: Written) -> dict:
    if written.usage and {"prompt_tokens", "completion_tokens"} <= set(written.usage):
        prompt, completion = int(written.usage["prompt_tokens"]), int(written.usage["completion_tokens"])
    else:
        prompt = sum(engine.embedder.count_tokens(m.text()) for m in body.messages)
        completion = engine.embedder.count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _stream(head: dict, content: str, extra: dict, usage: dict | None):
    """OpenAI's chunk sequence: the role, the content in sentence-sized pieces, the finish (with ``rag``), usage, [DONE]."""
    head = {**head, "object": "chat.completion.chunk"}
    yield _sse({**head, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
    for piece in filter(None, _PIECE.findall(content)):
        yield _sse({**head, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    yield _sse({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "rag": extra})
    if usage is not None:
        yield _sse({**head, "choices": [], "usage": usage})
    yield "data: [DONE]\n\n"


@router.post("/chat/completions", dependencies=[ApiKey])
async def chat_completions(body: ChatRequest, request: Request):
    """Answer the last user message from the knowledge base named by ``model``; ``stream`` sends Server-Sent Events."""
    if body.model not in knowledge_bases(request):
        raise _unknown_model(request, body.model)
    question, history = _question(request, body)
    try:
        engine = request.app.state.library.engine(body.model)
    except NoDocuments as exc:
        raise OpenAIError(409, str(exc), param="model", code="knowledge_base_empty") from None
    response = await run_in_threadpool(engine.ask, question, 5, history)
    writer = request.app.state.writer
    written = await run_in_threadpool(writer, response) if writer else Written(response.answer)
    content = reply_text(response, written)
    extra = _extra(response, written, body.model)
    usage = await run_in_threadpool(_usage, engine, body, content, written)
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(_stream(head, content, extra, usage if include_usage else None),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return {**head, "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": usage, "rag": extra}

