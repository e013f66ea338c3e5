"""A real OpenAI-compatible chat server that answers every request with a fixed reply (plain or streamed).

It stands in for the external LLM an answer writer talks to (vLLM, Ollama …), so the writer's
checks and fallbacks are tested over real HTTP on loopback.
"""

from __future__ import annotations

import json
import time

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def scripted_llm(reply: str, delay: float = 0.0, piece: float = 0.0) -> tuple[FastAPI, list[dict]]:
    """The app and the list of requests it received; ``delay`` before replying, ``piece`` between streamed pieces."""
    app, received = FastAPI(), []

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.post("/v1/chat/completions")
    def complete(body: dict):
        received.append(body)
        time.sleep(delay)
        head = {"id": "chatcmpl-scripted", "created": 0, "model": body.get("model")}
        if not body.get("stream"):
            return {**head, "object": "chat.completion", "usage": USAGE,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}]}

        def chunks():
            for start in range(0, len(reply), 4):
                time.sleep(piece)
                delta = {"index": 0, "delta": {"content": reply[start:start + 4]}, "finish_reason": None}
                yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [delta]})}\n\n"
            yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [], 'usage': USAGE})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type="text/event-stream")

    return app, received
