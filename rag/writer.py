"""Optionally let an LLM phrase the answer from our cited passages, and check what it wrote.

Off unless ``RAG_LLM_BASE_URL`` is set. Any OpenAI-compatible endpoint works (vLLM, Ollama,
DeepSeek, DashScope …). The LLM sees only the top passages, numbered as the citations are,
plus the span the reader extracted (and the dated values when articles disagree), and is asked
to cite every claim as ``[n]``. What comes back is checked before anyone reads it:

- markers that point at no passage are removed;
- a reply that cites no passage is not used;
- an error, a refused connection or a timeout is not an answer.

In each of those cases the extractive answer stands, and ``note`` says why. When nothing in the
documents answers the question, the LLM is not asked: it would only guess.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

from .config import Settings
from .engine import Response

MARKER = re.compile(r"[\[【]\s*(\d{1,3})\s*[\]】]")
PASSAGE_CHARS = 1200  # a passage longer than this is cut in the prompt

SYSTEM_PROMPT = (
    "你是文档问答助手。只根据下面编号的资料回答用户的问题，用与问题相同的语言简洁作答。"
    "每句话都用 [n] 标出所依据的资料编号（n 是资料编号）。不要使用资料以外的知识；"
    "资料不足以回答时，直接说资料中没有找到答案。"
)


@dataclass
class Written:
    """The answer a user reads: the LLM's when it passed the checks, else the extractive one."""

    text: str | None
    written: bool = False  # True when ``text`` is the LLM's (checked) reply
    note: str | None = None  # why the extractive answer was kept, when the writer was on
    cited: list[int] = field(default_factory=list)  # passage numbers the written answer cites
    usage: dict | None = None  # token counts the LLM reported


def check_markers(text: str, passages: int) -> tuple[str, list[int]]:
    """Rewrite 【n】 as [n], drop markers that point at no passage; return the text and the numbers cited."""
    cited: list[int] = []

    def keep(match: re.Match) -> str:
        number = int(match.group(1))
        if 1 <= number <= passages:
            if number not in cited:
                cited.append(number)
            return f"[{number}]"
        return ""

    checked = MARKER.sub(keep, text)
    return re.sub(r"[ \t]{2,}", " ", checked).strip(), cited


class AnswerWriter:
    """``AnswerWriter(base_url, model)(response)`` → :class:`Written`; never raises for the LLM's failures."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0,
                 passages: int = 5) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self.passages = passages
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerWriter | None:
        if not settings.llm_base_url:
            return None
        return cls(settings.llm_base_url, settings.llm_model or "default", settings.llm_api_key,
                   settings.llm_timeout, settings.llm_passages)

    def messages(self, response: Response) -> list[dict]:
        """The grounded prompt: numbered passages and the extracted span in the system message, the question as the user's."""
        lines = [SYSTEM_PROMPT, "", "资料："]
        for citation in response.citations[: self.passages]:
            text = citation.text if len(citation.text) <= PASSAGE_CHARS else citation.text[:PASSAGE_CHARS] + "…"
            where = "，".join(part for part in (citation.date, f"第{citation.paragraph}段") if part)
            lines.append(f"[{citation.rank}] 《{citation.title}》（{where}）\n{text}")
        if response.conflict:
            values = "；".join(f"{c['value']}（{c['date']}《{c['title']}》）" for c in response.conflict)
            lines += ["", f"不同文章给出的数值不同，回答时要都说明，并注明日期：{values}"]
        elif response.value:
            lines += ["", f"检索系统从资料中抽取的答案：{response.value}"]
        question = response.rewritten or response.question
        return [{"role": "system", "content": "\n".join(lines)}, {"role": "user", "content": question}]

    def __call__(self, response: Response) -> Written:
        """The checked answer, once the LLM has finished."""
        for item in self.stream(response):
            if isinstance(item, Written):
                return item
        raise AssertionError("stream() always ends with a Written")

    def stream(self, response: Response) -> Iterator[str | Written]:
        """The LLM's text as it arrives (unchecked, for a live view), then the checked :class:`Written`."""
        if response.status == "not_found" or not response.citations:
            yield Written(response.answer, note="nothing in the documents answers it, so the writer was not asked")
            return
        passages = min(self.passages, len(response.citations))
        deadline = time.monotonic() + self.timeout
        parts: list[str] = []
        usage = None
        request = {"model": self.model, "messages": self.messages(response), "temperature": 0.2,
                   "stream": True, "stream_options": {"include_usage": True}}
        try:
            with httpx.stream("POST", self.url, headers=self.headers, timeout=self.timeout, json=request) as reply:
                if reply.status_code != 200:
                    yield Written(response.answer, note=f"the answer writer answered HTTP {reply.status_code}")
                    return
                for line in reply.iter_lines():
                    if time.monotonic() > deadline:
                        yield Written(response.answer, note=f"the answer writer did not finish within {self.timeout:g} s")
                        return
                    data = line[5:].strip() if line.startswith("data:") else None
                    if not data:
                        continue
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content")
                        if isinstance(delta, str) and delta:
                            parts.append(delta)
                            yield delta
        except httpx.TimeoutException:
            yield Written(response.answer, note=f"the answer writer did not reply within {self.timeout:g} s")
            return
        except httpx.HTTPError as exc:
            yield Written(response.answer, note=f"the answer writer could not be reached ({type(exc).__name__})")
            return
        except (ValueError, AttributeError, TypeError):
            yield Written(response.answer, note="the answer writer's reply is not a chat completion stream")
            return
        text, cited = check_markers("".join(parts), passages)
        if not text:
            yield Written(response.answer, note="the answer writer replied with no text")
        elif not cited:
            yield Written(response.answer, note="the written answer cited no passage, so it was not used")
        else:
            yield Written(text, written=True, cited=cited, usage=usage if isinstance(usage, dict) else None)
