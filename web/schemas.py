"""Request and response models of the public API. Extend only by adding fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.config import get_settings
from rag.scope import Filters, valid_date


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
    doc_id: list[str] = Field(default_factory=list, max_length=200, description="ask only these documents (ids as in citations)")
    date_from: str | None = Field(default=None, description="ask only documents dated on or after (YYYY, YYYY-MM or YYYY-MM-DD)")
    date_to: str | None = Field(default=None, description="ask only documents dated on or before (YYYY, YYYY-MM or YYYY-MM-DD)")

    @field_validator("date_from", "date_to")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None and not valid_date(value):
            raise ValueError(f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
        return value

    def filters(self) -> Filters:
        return Filters(frozenset(self.doc_id), self.date_from or "", self.date_to or "")

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


class TimelineValue(BaseModel):
    value: str
    period: str = Field(description="the year(s) the figure is about, or its document's date when its sentence names none")
    kind: str | None = Field(description="target | outcome | null (the text does not say)")
    date: str
    doc_id: str
    title: str
    paragraph: int
    rank: int | None = Field(description="the citation that prints it")


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
    timeline: list[TimelineValue] = Field(default_factory=list, description="asked of no period, a figure that dated documents state for different periods: each value, newest first")


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
