"""Request and response models of the public API. Extend only by adding fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.config import get_settings


def _valid_unicode(value: str | None) -> str | None:
    """JSON may escape a lone surrogate (\\ud800); such text cannot be encoded, so refuse it here."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text contains an unpaired surrogate (not valid Unicode)") from None
    return value


class Turn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    question: str = Field(strict=True, max_length=2000)
    answer: str | None = Field(default=None, strict=True, max_length=20000)

    @field_validator("question", "answer")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        return _valid_unicode(value)


class AskRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"question": "鹿泉区2024年电子信息产业目标是多少", "top_k": 5}]})

    question: str = Field(strict=True, description="the question, in Chinese (simplified or traditional) or English")
    top_k: int = Field(default=5, strict=True, ge=1, le=50, description="how many passages to cite; a source that disagrees with them is cited as well")
    history: list[Turn] = Field(default_factory=list, max_length=50, description="earlier turns, oldest first, for follow-ups")
    kb: str | None = Field(default=None, strict=True, max_length=100, description="the knowledge base to ask (GET /kbs); the default one when absent")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        value = _valid_unicode(value).strip()
        if not value:
            raise ValueError("question must not be empty")
        limit = get_settings().max_question_chars
        if len(value) > limit:
            raise ValueError(f"question is longer than {limit} characters")
        return value


class CitationOut(BaseModel):
    rank: int
    doc_id: str
    title: str
    date: str
    source: str
    paragraph: int
    text: str = Field(description="the passage as stored")
    score: float
    highlight: list[int] | None = Field(description="[start, end) of the answer in text, or null")
    heading: str = ""
    kind: str = "body"
    found_by: list[str] = Field(default_factory=list, description="retrievers that found it: dense, bm25")
    ocr: bool = Field(default=False, description="the passage was read off a scanned page or image by OCR (识别文本): check it against the file")


class ConflictValue(BaseModel):
    value: str
    date: str
    doc_id: str
    title: str
    paragraph: int


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(description="a short answer built from the cited text, or null when nothing answers it")
    citations: list[CitationOut]
    took_ms: float
    status: str = Field(description="answered | conflict | not_found")
    value: str | None = Field(default=None, description="the exact span asked for (number, date, name…), when there is one")
    conflict: list[ConflictValue] = Field(default_factory=list, description="values that differ between articles, newest first")
    confidence: float = 0.0
    rewritten: str | None = Field(default=None, description="the follow-up question as understood with its history")


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    index_version: str
    built_at: str


class Problem(BaseModel):
    detail: str | list
    message: str
